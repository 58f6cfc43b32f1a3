"""Probes: liveness says the process serves HTTP; readiness runs every dependency check concurrently with a
per-check timeout below Kubernetes' 1 s probe timeout, and reports only names and statuses."""

import asyncio
from collections.abc import Awaitable, Callable

import structlog
from app.db import engine
from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text

logger = structlog.get_logger(__name__)
router = APIRouter(prefix="/health", tags=["health"])
CHECK_TIMEOUT = 0.8


async def check_database() -> None:
    async with engine.connect() as connection:
        await connection.execute(text("SELECT 1"))


CHECKS: dict[str, Callable[[], Awaitable[None]]] = {"database": check_database}


async def _run(name: str, check: Callable[[], Awaitable[None]]) -> bool:
    try:
        async with asyncio.timeout(CHECK_TIMEOUT):
            await check()
    except Exception as exc:  # any failure means "not ready"; the details go to the log, not the response
        logger.warning("readiness_check_failed", check=name, error=type(exc).__name__)
        return False
    return True


@router.get("/live")
async def live() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/ready")
async def ready() -> JSONResponse:
    results = await asyncio.gather(*(_run(name, check) for name, check in CHECKS.items()))
    checks = {name: "ok" if ok else "failed" for name, ok in zip(CHECKS, results, strict=True)}
    healthy = all(results)
    return JSONResponse(
        {"status": "ok" if healthy else "unavailable", "checks": checks}, status_code=200 if healthy else 503
    )
