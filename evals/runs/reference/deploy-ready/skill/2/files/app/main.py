from fastapi import FastAPI, HTTPException
from pydantic import BaseModel

app = FastAPI(title="catalog-service")


class Product(BaseModel):
    id: int
    name: str
    price_cents: int


PRODUCTS = {1: Product(id=1, name="kettle", price_cents=3900), 2: Product(id=2, name="teapot", price_cents=2500)}


@app.get("/products")
async def list_products() -> list[Product]:
    return list(PRODUCTS.values())


@app.get("/products/{product_id}")
async def get_product(product_id: int) -> Product:
    if product_id not in PRODUCTS:
        raise HTTPException(status_code=404, detail="no such product")
    return PRODUCTS[product_id]
