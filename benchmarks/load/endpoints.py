"""The two endpoints every benchmarked app serves: a tiny JSON hello and a 20-item validated JSON list."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel


class Item(BaseModel):
    id: int
    name: str
    price: float
    tags: list[str]


ITEMS = [Item(id=i, name=f"item-{i}", price=i * 1.25, tags=["a", "b"]) for i in range(20)]


def bench_router() -> APIRouter:
    router = APIRouter()

    @router.get("/hello")
    async def hello() -> dict[str, str]:
        return {"message": "hello"}

    @router.get("/items")
    async def items() -> list[Item]:
        return ITEMS

    return router
