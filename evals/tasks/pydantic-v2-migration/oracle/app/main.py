from dataclasses import dataclass, field
from decimal import Decimal

from app.models import ProductIn, ProductOut, ProductPatch
from fastapi import FastAPI, HTTPException

app = FastAPI(title="products-api")


@dataclass
class ProductRow:
    """Stands in for the ORM row the real service loads."""

    id: int
    sku: str
    name: str
    price: Decimal
    tags: list[str] = field(default_factory=list)


ROWS: dict[int, ProductRow] = {}


@app.post("/products", status_code=201)
async def create_product(product: ProductIn) -> ProductOut:
    row = ProductRow(id=len(ROWS) + 1, **product.model_dump())
    ROWS[row.id] = row
    return ProductOut.model_validate(row)


@app.get("/products/{product_id}")
async def get_product(product_id: int) -> ProductOut:
    row = ROWS.get(product_id)
    if row is None:
        raise HTTPException(status_code=404, detail="no such product")
    return ProductOut.model_validate(row)


@app.patch("/products/{product_id}")
async def update_product(product_id: int, patch: ProductPatch) -> ProductOut:
    row = ROWS.get(product_id)
    if row is None:
        raise HTTPException(status_code=404, detail="no such product")
    current = ProductOut.model_validate(row)
    updated = current.model_copy(update=patch.model_dump(exclude_unset=True))
    ROWS[product_id] = ProductRow(**updated.model_dump())
    return updated
