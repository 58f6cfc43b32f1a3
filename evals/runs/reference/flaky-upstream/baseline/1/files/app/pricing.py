"""The pricing service client: one shared httpx client, explicit timeouts, failures mapped to 502/504."""

import asyncio
from typing import Annotated

import httpx
import structlog
from fastapi import Depends, HTTPException, Request

logger = structlog.get_logger(__name__)


class PricingClient:
    def __init__(self, http: httpx.AsyncClient, deadline: float) -> None:
        self._http = http
        self._deadline = deadline

    async def price(self, symbol: str) -> float:
        try:
            # asyncio.timeout bounds the whole call; httpx's own timeouts are per read and reset on every byte.
            async with asyncio.timeout(self._deadline):
                response = await self._http.get(f"/prices/{symbol}")
            response.raise_for_status()
            return float(response.json()["price"])
        except (TimeoutError, httpx.TimeoutException):
            logger.warning("pricing_timeout", symbol=symbol)
            raise HTTPException(status_code=504, detail="pricing service timed out") from None
        except (httpx.HTTPError, KeyError, ValueError) as exc:
            logger.warning("pricing_failed", symbol=symbol, error=type(exc).__name__)
            raise HTTPException(status_code=502, detail="pricing service unavailable") from None


def get_pricing(request: Request) -> PricingClient:
    return request.state.pricing  # type: ignore[no-any-return]


PricingDep = Annotated[PricingClient, Depends(get_pricing)]
