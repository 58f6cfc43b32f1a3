"""health_checks.py + lifespan.py: liveness never touches dependencies; readiness checks them concurrently in time."""

from __future__ import annotations

import asyncio
import gc
import logging
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import anyio.to_thread
import pytest
from fastapi import APIRouter
from helpers import free_port
from tpl_support import isolated_logging, make_settings, running_app, tpl  # noqa: F401 - isolated_logging is an autouse fixture

health_checks = tpl("health_checks")


@pytest.fixture
def blackhole_port() -> Iterator[int]:
    """A TCP port that accepts connections (into the backlog) and never answers: a hung dependency."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        yield int(listener.getsockname()[1])


@pytest.mark.anyio
async def test_embedded_defaults_are_ready_without_services() -> None:
    async with running_app() as (_, client):
        live = await client.get("/health/live")
        ready = await client.get("/health/ready")
    assert live.status_code == 200
    assert live.json() == {"status": "ok", "checks": {}}
    assert ready.status_code == 200
    assert ready.json() == {"status": "ok", "checks": {"database": "ok"}}
    assert ready.headers["cache-control"] == "no-store"


@pytest.mark.anyio
@pytest.mark.postgres
@pytest.mark.redis
async def test_ready_with_real_postgres_and_redis(database_url: str, redis_url: str) -> None:
    async with running_app(make_settings(database_url=database_url, redis_url=redis_url)) as (_, client):
        response = await client.get("/health/ready")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "redis": "ok"}}


@pytest.mark.anyio
@pytest.mark.postgres
async def test_redis_on_a_closed_port_is_named_and_liveness_stays_up(database_url: str) -> None:
    settings = make_settings(database_url=database_url, redis_url=f"redis://127.0.0.1:{free_port()}/0")
    async with running_app(settings) as (_, client):
        start = time.perf_counter()
        ready = await client.get("/health/ready")
        elapsed = time.perf_counter() - start
        live = await client.get("/health/live")
    assert ready.status_code == 503
    assert ready.json() == {"status": "unavailable", "checks": {"database": "ok", "redis": "failed"}}
    # Refused connections fail fast; the hard requirement is answering inside Kubernetes' 1 s probe timeout.
    assert elapsed < 1.0
    # Nothing about the failure beyond the check's name: no host, port or exception text.
    assert "127.0.0.1" not in ready.text
    assert "Error" not in ready.text
    assert live.status_code == 200


@pytest.mark.anyio
@pytest.mark.redis
async def test_postgres_on_a_closed_port_is_named(redis_url: str) -> None:
    settings = make_settings(
        database_url=f"postgresql+asyncpg://postgres:pw@127.0.0.1:{free_port()}/test", redis_url=redis_url
    )
    async with running_app(settings) as (_, client):
        ready = await client.get("/health/ready")
        live = await client.get("/health/live")
    assert ready.status_code == 503
    assert ready.json()["checks"] == {"database": "failed", "redis": "ok"}
    assert "pw" not in ready.text
    assert live.status_code == 200


@pytest.mark.anyio
async def test_a_hung_dependency_times_out_below_the_probe_timeout(blackhole_port: int) -> None:
    # Redis accepts the TCP connection and never replies: only the readiness timeout can end the check.
    settings = make_settings(redis_url=f"redis://127.0.0.1:{blackhole_port}/0", health_check_timeout=0.5)
    async with running_app(settings) as (_, client):
        start = time.perf_counter()
        ready = await client.get("/health/ready")
        elapsed = time.perf_counter() - start
        live = await client.get("/health/live")
    assert ready.status_code == 503
    assert ready.json()["checks"] == {"database": "ok", "redis": "timeout"}
    assert 0.5 <= elapsed < 1.0  # the check's own timeout, and still inside Kubernetes' 1 s probe timeout
    assert live.status_code == 200


@pytest.mark.anyio
async def test_checks_run_concurrently() -> None:
    checks = health_checks.ReadinessChecks(timeout=0.9)

    async def slow() -> None:
        await asyncio.sleep(0.3)

    for name in ("a", "b", "c"):
        checks.add(name, slow)
    start = time.perf_counter()
    assert await checks.run() == {"a": "ok", "b": "ok", "c": "ok"}
    # One after another would take 0.9 s.
    assert time.perf_counter() - start < 0.6


@pytest.mark.anyio
async def test_one_failing_check_does_not_hide_the_others() -> None:
    checks = health_checks.ReadinessChecks(timeout=0.2)

    async def broken() -> None:
        raise ConnectionRefusedError("db.internal:5432")

    async def hung() -> None:
        await asyncio.sleep(5)

    async def fine() -> None:
        return None

    checks.add("broken", broken)
    checks.add("hung", hung)
    checks.add("fine", fine)
    assert await checks.run() == {"broken": "failed", "hung": "timeout", "fine": "ok"}


def test_readiness_checks_reject_bad_configuration() -> None:
    with pytest.raises(ValueError, match="probe timeout"):
        health_checks.ReadinessChecks(timeout=1.5)
    checks = health_checks.ReadinessChecks()

    async def check() -> None:
        return None

    checks.add("database", check)
    with pytest.raises(ValueError, match="already registered"):
        checks.add("database", check)


def test_settings_refuse_a_health_timeout_at_or_above_one_second() -> None:
    with pytest.raises(ValueError, match="health_check_timeout"):
        make_settings(health_check_timeout=1.0)


release = threading.Event()
blocking_router = APIRouter()


@blocking_router.get("/blocking")
def blocking() -> dict[str, str]:
    release.wait(timeout=5)
    return {}


@pytest.mark.anyio
async def test_liveness_answers_while_the_thread_pool_is_exhausted() -> None:
    limiter = anyio.to_thread.current_default_thread_limiter()
    original = limiter.total_tokens
    release.clear()
    async with running_app(routers=[blocking_router]) as (_, client):
        limiter.total_tokens = 1
        try:
            stuck = asyncio.create_task(client.get("/blocking"))
            await asyncio.sleep(0.1)  # the only worker thread is now parked in the handler
            live = await asyncio.wait_for(client.get("/health/live"), timeout=1)
            assert not stuck.done()
        finally:
            release.set()
            limiter.total_tokens = original
        assert (await stuck).status_code == 200
    assert live.status_code == 200


@pytest.mark.anyio
async def test_a_check_slow_to_cancel_does_not_delay_the_answer() -> None:
    # What SQLAlchemy does after a blackhole: cancelled, it still spends seconds discarding the hung connection.
    checks = health_checks.ReadinessChecks(timeout=0.3)
    cleanup_finished = asyncio.Event()

    async def hung_then_slow_cleanup() -> None:
        try:
            await asyncio.sleep(10)
        finally:
            await asyncio.shield(asyncio.sleep(1.0))
            cleanup_finished.set()

    checks.add("database", hung_then_slow_cleanup)
    start = time.perf_counter()
    assert await checks.run() == {"database": "timeout"}
    elapsed = time.perf_counter() - start
    assert 0.3 <= elapsed < 0.6, f"readiness answered after {elapsed:.2f}s"
    # The abandoned check is kept alive (not garbage-collected mid-cleanup) and does finish.
    assert len(health_checks._abandoned) == 1
    await asyncio.wait_for(cleanup_finished.wait(), timeout=2)
    await asyncio.sleep(0)
    assert not health_checks._abandoned


@pytest.mark.anyio
async def test_a_check_that_fails_after_its_timeout_is_retrieved_quietly(caplog: pytest.LogCaptureFixture) -> None:
    checks = health_checks.ReadinessChecks(timeout=0.1)
    done = asyncio.Event()

    async def fails_while_cancelled() -> None:
        try:
            await asyncio.sleep(10)
        finally:
            done.set()
            raise ConnectionResetError("db.internal:5432 went away during cleanup")

    checks.add("database", fails_while_cancelled)
    with caplog.at_level(logging.ERROR, logger="asyncio"):
        assert await checks.run() == {"database": "timeout"}
        await done.wait()
        for _ in range(3):
            await asyncio.sleep(0)
        gc.collect()
    # Retrieved in the done-callback: asyncio never reports "Task exception was never retrieved".
    assert not [record for record in caplog.records if "never retrieved" in record.getMessage()]
    assert not health_checks._abandoned


@pytest.mark.anyio
async def test_a_check_that_fails_before_awaiting_is_failed_not_a_crash() -> None:
    checks = health_checks.ReadinessChecks(timeout=0.2)

    def not_configured() -> Any:
        raise RuntimeError("no client configured")

    checks.add("search", not_configured)
    assert await checks.run() == {"search": "failed"}
