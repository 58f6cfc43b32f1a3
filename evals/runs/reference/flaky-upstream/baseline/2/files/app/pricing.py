from typing import Annotated

import httpx
from fastapi import Depends, Request


class PricingClient:
    def __init__(self, http: httpx.AsyncClient, deadline: float) -> None:
        self._http = http

    async def price(self, symbol: str) -> float:
        response = await self._http.get(f"/prices/{symbol}")
        response.raise_for_status()
        return float(response.json()["price"])


def get_pricing(request: Request) -> PricingClient:
    return request.state.pricing  # type: ignore[no-any-return]


PricingDep = Annotated[PricingClient, Depends(get_pricing)]
