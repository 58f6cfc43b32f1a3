"""The service the fault scenarios run: templates/'s ``create_app`` plus routes that exercise each failure.

- ``GET /slow?seconds=2``: a request that stays in flight (graceful shutdown); logs ``slow_request_started``.
- ``GET /db``: one round trip through ``SessionDep`` (database outages).
- ``GET /db-then-wait``: a read, then a pause with the session still open (an outage during session teardown).
- ``GET /limited``: behind the templates' ``rate_limit`` dependency (Redis outages, fail-open/closed).
- ``POST /orders``: a validated JSON body (malformed JSON, oversized bodies).

Configured from the environment like any service built from the templates (``DATABASE_URL``, ``REDIS_URL``...).
Run: ``uvicorn benchmarks.faults.app:create_fault_app --factory``.
"""

from __future__ import annotations

import asyncio
from typing import Annotated

import structlog
from fastapi import APIRouter, Depends, FastAPI, Query
from pydantic import BaseModel, Field
from sqlalchemy import text

from templates.database import SessionDep
from templates.main import create_app
from templates.rate_limiting import rate_limit
from templates.settings import get_settings

logger = structlog.stdlib.get_logger("faults.app")
router = APIRouter()


class Order(BaseModel):
    sku: str = Field(min_length=1, max_length=64)
    quantity: int = Field(ge=1, le=1000)


@router.get("/slow")
async def slow(seconds: Annotated[float, Query(ge=0, le=30)] = 2.0) -> dict[str, float]:
    logger.info("slow_request_started", seconds=seconds)
    await asyncio.sleep(seconds)
    return {"slept": seconds}


@router.get("/db")
async def database_round_trip(session: SessionDep) -> dict[str, int]:
    value = (await session.execute(text("SELECT 1"))).scalar_one()
    return {"db": int(value)}


@router.get("/db-then-wait")
async def database_then_wait(
    session: SessionDep, seconds: Annotated[float, Query(ge=0, le=10)] = 0.5
) -> dict[str, int]:
    """Reads, then keeps its session (and the transaction SQLAlchemy began) open a while without touching it."""
    value = (await session.execute(text("SELECT 1"))).scalar_one()
    await asyncio.sleep(seconds)
    return {"db": int(value)}


@router.get("/limited", dependencies=[Depends(rate_limit("100000/minute"))])
async def limited() -> dict[str, bool]:
    return {"ok": True}


@router.post("/orders", status_code=201)
async def create_order(order: Order) -> Order:
    return order


def create_fault_app() -> FastAPI:
    return create_app(get_settings(), routers=[router])
