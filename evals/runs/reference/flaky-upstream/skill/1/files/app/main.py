import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TypedDict

import httpx
from app.holdings import HOLDINGS
from app.pricing import PricingClient, PricingDep
from app.settings import get_settings
from fastapi import FastAPI, HTTPException


class State(TypedDict):
    pricing: PricingClient


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[State]:
    settings = get_settings()
    timeout = httpx.Timeout(settings.pricing_timeout, connect=settings.pricing_connect_timeout)
    # One client for the process: connection pooling and keep-alive; closed when the server stops.
    async with httpx.AsyncClient(base_url=str(settings.pricing_url), timeout=timeout) as http:
        yield {"pricing": PricingClient(http, deadline=settings.pricing_timeout)}


app = FastAPI(title="portfolio-service", lifespan=lifespan)


@app.get("/portfolio/{user_id}")
async def get_portfolio(user_id: str) -> dict[str, object]:
    holdings = HOLDINGS.get(user_id)
    if holdings is None:
        raise HTTPException(status_code=404, detail="unknown user")
    return {"user_id": user_id, "holdings": holdings}


@app.get("/portfolio/{user_id}/value")
async def get_portfolio_value(user_id: str, pricing: PricingDep) -> dict[str, object]:
    holdings = HOLDINGS.get(user_id)
    if holdings is None:
        raise HTTPException(status_code=404, detail="unknown user")
    symbols = sorted(holdings)
    prices = await asyncio.gather(*(pricing.price(symbol) for symbol in symbols))
    total = sum(holdings[symbol] * price for symbol, price in zip(symbols, prices, strict=True))
    return {"user_id": user_id, "total": total}
