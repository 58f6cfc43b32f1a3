"""The endpoints every benchmarked app serves.

- ``/hello``: a tiny JSON hello, where the middleware's cost shows the most;
- ``/items``: a 20-item validated JSON list;
- ``/health/live``: the templates' liveness probe, same handler (the templates' own app serves theirs, which does
  the same work): a probe path, whose access line goes to DEBUG;
- ``/work``: a realistic route, about 1 ms of CPU: validate 60 orders of 5 lines each from raw dicts, total them,
  index their lines and return them through the response model (allocation-heavy, like an ORM-backed handler).
"""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel


class Item(BaseModel):
    id: int
    name: str
    price: float
    tags: list[str]


ITEMS = [Item(id=i, name=f"item-{i}", price=i * 1.25, tags=["a", "b"]) for i in range(20)]


class ProbeStatus(BaseModel):
    status: Literal["ok", "unavailable"]
    checks: dict[str, str] = {}


class Line(BaseModel):
    sku: str
    quantity: int
    unit_price: float


class Order(BaseModel):
    id: int
    customer: str
    lines: list[Line]
    total: float = 0.0


RAW_ORDERS = [
    {
        "id": i,
        "customer": f"customer-{i}",
        "lines": [{"sku": f"sku-{i}-{j}", "quantity": j + 1, "unit_price": 1.5 * j} for j in range(5)],
    }
    for i in range(60)
]


def bench_router() -> APIRouter:
    router = APIRouter()

    @router.get("/hello")
    async def hello() -> dict[str, str]:
        return {"message": "hello"}

    @router.get("/items")
    async def items() -> list[Item]:
        return ITEMS

    @router.get("/health/live")
    async def live() -> ProbeStatus:
        return ProbeStatus(status="ok")

    @router.get("/work")
    async def work() -> list[Order]:
        orders = [Order.model_validate(raw) for raw in RAW_ORDERS]
        by_prefix: dict[str, list[tuple[int, int]]] = {}
        for order in orders:
            order.total = round(sum(line.quantity * line.unit_price for line in order.lines), 2)
            for line in order.lines:
                by_prefix.setdefault(line.sku[:6], []).append((order.id, line.quantity))
        return orders

    return router
