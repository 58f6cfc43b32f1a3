"""Postgres and Redis fail (refused, then blackholed) under a running service and come back.

One uvicorn process per module, reaching both services only through a FaultProxy. Each test breaks one dependency,
checks what probes and requests see, restores it and checks recovery, so the tests are independent of their order.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
import redis

from benchmarks.faults.dependencies import (
    LEAK_MARKERS,
    PROBE_BUDGET_SECONDS,
    Stack,
    service_behind_proxies,
    timed_get,
    wait_until_ready,
)
from benchmarks.faults.proxy import Mode

pytestmark = [pytest.mark.postgres, pytest.mark.redis]


def _service_urls() -> tuple[str, str]:
    database_url = os.environ.get("TEST_DATABASE_URL")
    redis_url = os.environ.get("TEST_REDIS_URL")
    if not database_url or not redis_url:
        pytest.skip("TEST_DATABASE_URL and TEST_REDIS_URL must both be set to run the dependency-outage suite")
    return database_url, redis_url


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    database_url, redis_url = _service_urls()
    with service_behind_proxies(database_url, redis_url, tmp_path_factory.mktemp("deps")) as running:
        wait_until_ready(running.client)
        yield running


def _assert_problem_without_leaks(status: int, content_type: str, body: str) -> None:
    assert status in {500, 503}, body
    assert content_type.startswith("application/problem+json"), content_type
    for marker in LEAK_MARKERS:
        assert marker not in body, f"{marker!r} leaked to the client: {body}"


def test_everything_ready_when_dependencies_answer(stack: Stack) -> None:
    ready = timed_get(stack.client, "/health/ready")
    assert ready.status == 200
    assert ready.json() == {"status": "ok", "checks": {"database": "ok", "redis": "ok"}}
    assert timed_get(stack.client, "/db").status == 200
    assert timed_get(stack.client, "/limited").status == 200


@pytest.mark.parametrize(("mode", "check_status"), [("refuse", "failed"), ("blackhole", "timeout")])
def test_database_outage(stack: Stack, mode: Mode, check_status: str) -> None:
    stack.postgres.set_mode(mode)
    try:
        ready = timed_get(stack.client, "/health/ready")
        # Ask twice: the first probe may still find a pooled connection from before the outage.
        ready = timed_get(stack.client, "/health/ready")
        assert ready.status == 503
        assert ready.json() == {"status": "unavailable", "checks": {"database": check_status, "redis": "ok"}}
        assert ready.seconds < PROBE_BUDGET_SECONDS
        live = timed_get(stack.client, "/health/live")
        assert live.status == 200
        assert live.seconds < 0.5
        failed = timed_get(stack.client, "/db")
        _assert_problem_without_leaks(failed.status, failed.content_type, failed.body)
        # Bounded by the templates' DATABASE_CONNECT_TIMEOUT (5 s), not by TCP's own minutes-long timeouts.
        assert failed.seconds < 7
        # Routes that don't touch the database keep working.
        assert timed_get(stack.client, "/limited").status == 200
    finally:
        stack.postgres.set_mode("pass")
    assert wait_until_ready(stack.client) < 5
    assert timed_get(stack.client, "/db").status == 200


def test_first_probe_after_database_blackhole_within_budget(stack: Stack) -> None:
    assert timed_get(stack.client, "/db").status == 200  # a pooled connection exists...
    time.sleep(0.3)  # ...and is back in the pool (the session closes after the response is sent)
    stack.postgres.set_mode("blackhole")
    try:
        ready = timed_get(stack.client, "/health/ready")
    finally:
        stack.postgres.set_mode("pass")
        wait_until_ready(stack.client)
    assert ready.status == 503
    assert ready.seconds < PROBE_BUDGET_SECONDS, f"first probe took {ready.seconds:.2f}s"


def test_outage_during_session_teardown_is_not_an_application_crash(stack: Stack) -> None:
    log_before = len(stack.server.log_text())
    with ThreadPoolExecutor(max_workers=1) as pool:
        pending = pool.submit(timed_get, stack.client, "/db-then-wait?seconds=0.6")
        time.sleep(0.3)  # the handler has read and now waits with its transaction open
        stack.postgres.set_mode("refuse")
        response = pending.result(timeout=10)
    time.sleep(0.3)
    stack.postgres.set_mode("pass")
    wait_until_ready(stack.client)
    assert response.status == 200  # the handler had everything it needed
    assert "Exception in ASGI application" not in stack.server.log_text()[log_before:]


def test_database_errors_do_not_break_keep_alive_connections(stack: Stack) -> None:
    stack.postgres.set_mode("refuse")
    outcomes: list[tuple[int, int | str]] = []
    try:
        with httpx.Client(base_url=stack.server.base_url, timeout=10) as keep_alive:
            for _ in range(10):
                failed = keep_alive.get("/db")
                try:
                    outcomes.append((failed.status_code, keep_alive.get("/health/live").status_code))
                except httpx.TransportError as error:
                    outcomes.append((failed.status_code, repr(error)))
    finally:
        stack.postgres.set_mode("pass")
    wait_until_ready(stack.client)
    assert all(next_status == 200 for _, next_status in outcomes), outcomes


@pytest.mark.parametrize(("mode", "check_status"), [("refuse", "failed"), ("blackhole", "timeout")])
def test_redis_outage_fails_open_and_says_so(stack: Stack, mode: Mode, check_status: str) -> None:
    log_before = len(stack.server.log_text())
    stack.redis.set_mode(mode)
    try:
        ready = timed_get(stack.client, "/health/ready")
        assert ready.status == 503
        assert ready.json() == {"status": "unavailable", "checks": {"database": "ok", "redis": check_status}}
        assert ready.seconds < PROBE_BUDGET_SECONDS
        assert timed_get(stack.client, "/health/live").status == 200
        # Documented choice (templates/rate_limiting.py): fail open, log a warning naming the choice.
        limited = timed_get(stack.client, "/limited")
        assert limited.status == 200, limited.body
        assert limited.seconds < 3  # REDIS_TIMEOUT (2 s) bounds a blackholed Redis
        assert timed_get(stack.client, "/db").status == 200
    finally:
        stack.redis.set_mode("pass")
    new_log = stack.server.log_text()[log_before:]
    assert '"event": "rate_limit_storage_unavailable"' in new_log
    assert '"fail_open": true' in new_log
    assert wait_until_ready(stack.client) < 5
    # Recovery of the limiter itself: after its outage back-off it counts in Redis again.
    assert wait_until_limiter_uses_redis(stack) < 10


def wait_until_limiter_uses_redis(stack: Stack) -> float:
    """Seconds until a /limited request leaves a counter under the service's key prefix in the real Redis."""
    _, redis_url = _service_urls()
    client = redis.Redis.from_url(redis_url, socket_timeout=2)
    pattern = f"{stack.app_name}:rate-limit*"
    start = time.monotonic()
    try:
        for key in client.scan_iter(match=pattern):
            client.delete(key)
        while time.monotonic() - start < 15:
            assert timed_get(stack.client, "/limited").status == 200
            if next(client.scan_iter(match=pattern), None) is not None:
                return time.monotonic() - start
            time.sleep(0.25)
    finally:
        client.close()
    raise TimeoutError("the rate limiter did not return to Redis within 15 s")


def test_redis_outage_fails_closed_when_configured(tmp_path: Path) -> None:
    database_url, redis_url = _service_urls()
    with service_behind_proxies(
        database_url, redis_url, tmp_path, extra_env={"RATE_LIMIT_FAIL_OPEN": "false"}
    ) as closed:
        wait_until_ready(closed.client)
        closed.redis.set_mode("refuse")
        response = closed.client.get("/limited")
        assert response.status_code == 503
        assert response.headers["content-type"].startswith("application/problem+json")
        # Whole seconds until the limiter tries Redis again (its outage back-off).
        assert 1 <= int(response.headers["retry-after"]) <= 5
        assert '"fail_open": false' in closed.server.log_text()
        closed.redis.set_mode("pass")
        wait_until_ready(closed.client)
        # Still closed until the back-off it announced in Retry-After has passed, then open again.
        start = time.monotonic()
        while closed.client.get("/limited").status_code == 503 and time.monotonic() - start < 10:
            time.sleep(0.25)
        assert closed.client.get("/limited").status_code == 200
