import httpx
from fastapi import FastAPI, HTTPException

from app.holdings import HOLDINGS
from app.settings import get_settings

app = FastAPI(title="portfolio-service")


@app.get("/portfolio/{user_id}")
async def get_portfolio(user_id: str) -> dict[str, object]:
    holdings = HOLDINGS.get(user_id)
    if holdings is None:
        raise HTTPException(status_code=404, detail="unknown user")
    return {"user_id": user_id, "holdings": holdings}


@app.get("/portfolio/{user_id}/value")
async def get_portfolio_value(user_id: str) -> dict[str, object]:
    holdings = HOLDINGS.get(user_id)
    if holdings is None:
        raise HTTPException(status_code=404, detail="unknown user")
    settings = get_settings()
    total = 0.0
    async with httpx.AsyncClient(base_url=str(settings.pricing_url), timeout=3.0) as http:
        for symbol, quantity in holdings.items():
            try:
                response = await http.get(f"/prices/{symbol}")
                response.raise_for_status()
            except httpx.TimeoutException:
                raise HTTPException(status_code=504, detail="pricing service timed out") from None
            except httpx.HTTPError:
                raise HTTPException(status_code=502, detail="pricing service unavailable") from None
            total += quantity * float(response.json()["price"])
    return {"user_id": user_id, "total": total}
