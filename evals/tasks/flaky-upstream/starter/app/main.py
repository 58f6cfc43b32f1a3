from fastapi import FastAPI, HTTPException

from app.holdings import HOLDINGS

app = FastAPI(title="portfolio-service")


@app.get("/portfolio/{user_id}")
async def get_portfolio(user_id: str) -> dict[str, object]:
    holdings = HOLDINGS.get(user_id)
    if holdings is None:
        raise HTTPException(status_code=404, detail="unknown user")
    return {"user_id": user_id, "holdings": holdings}
