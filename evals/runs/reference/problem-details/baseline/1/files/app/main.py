from typing import Annotated

from fastapi import FastAPI, HTTPException, Query
from pydantic import BaseModel, Field

from app.problems import install

app = FastAPI(title="inventory-api")
# problem+json for HTTPException (ours and the router's 404/405), validation errors and unhandled crashes.
install(app)


class Item(BaseModel):
    sku: str = Field(pattern=r"^[A-Z]{3}-\d{4}$")
    name: str = Field(min_length=1, max_length=100)
    stock: int = Field(ge=0)


ITEMS: dict[str, Item] = {"ABC-0001": Item(sku="ABC-0001", name="hinge", stock=12)}
WAREHOUSE_DSN = "postgresql://inventory:s3cr3t-pass@wh-db.internal:5432/stock"


@app.get("/items/{sku}")
async def get_item(sku: str) -> Item:
    item = ITEMS.get(sku)
    if item is None:
        raise HTTPException(status_code=404, detail=f"item {sku} not found")
    return item


@app.post("/items", status_code=201)
async def create_item(item: Item) -> Item:
    ITEMS[item.sku] = item
    return item


@app.get("/reports/restock")
async def restock_report(threshold: Annotated[int, Query(ge=0)] = 5) -> dict[str, list[str]]:
    # The warehouse connector is not wired up yet in this environment: the call fails with the DSN in its message.
    raise ConnectionError(f"could not connect to {WAREHOUSE_DSN}")
