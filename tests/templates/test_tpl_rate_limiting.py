"""rate_limiting.py: 429 problem+json with a correct Retry-After, keys that ignore spoofed headers, Redis storage."""

from __future__ import annotations

import asyncio
import math
import socket
import time

import pytest
from fastapi import APIRouter, Depends
from helpers import free_port
from tpl_support import isolated_logging, make_settings, running_app, tpl  # noqa: F401 - isolated_logging is an autouse fixture

rate_limiting = tpl("rate_limiting")

router = APIRouter()


@router.post("/login", dependencies=[Depends(rate_limiting.rate_limit("3/minute"))])
async def login() -> dict[str, str]:
    return {"token": "t"}


@router.post("/login/otp", dependencies=[Depends(rate_limiting.rate_limit("3/minute"))])
async def login_otp() -> dict[str, str]:
    return {"token": "t"}


@router.get("/second", dependencies=[Depends(rate_limiting.rate_limit("1/second", scope="burst"))])
async def second() -> dict[str, str]:
    return {}


async def statuses(client: object, path: str, count: int, **kwargs: object) -> list[int]:
    results = []
    for _ in range(count):
        response = await client.post(path, **kwargs)  # type: ignore[attr-defined]
        results.append(response.status_code)
    return results


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("strategy", "earliest"),
    # The sliding-window counter weighs the previous clock-aligned window, so its reset can come sooner.
    [("moving-window", 55), ("fixed-window", 55), ("sliding-window-counter", 1)],
)
async def test_429_problem_with_retry_after_in_memory(strategy: str, earliest: int) -> None:
    async with running_app(make_settings(rate_limit_strategy=strategy), [router]) as (_, client):
        assert await statuses(client, "/login", 3) == [200, 200, 200]
        started = time.time()
        response = await client.post("/login", headers={"X-Request-ID": "rl-1"})
    assert response.status_code == 429
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["title"] == "Too Many Requests"
    assert body["request_id"] == "rl-1"
    retry_after = int(response.headers["retry-after"])
    # The window opened with the first hit, moments ago: a retry is allowed about a minute later.
    assert earliest <= retry_after <= 60
    assert retry_after <= math.ceil(60 - (time.time() - started)) + 1
    assert response.headers["ratelimit-limit"] == "3"
    assert response.headers["ratelimit-remaining"] == "0"


@pytest.mark.anyio
async def test_retry_after_matches_when_the_limit_really_resets() -> None:
    async with running_app(routers=[router]) as (_, client):
        assert (await client.get("/second")).status_code == 200
        refused = await client.get("/second")
        assert refused.status_code == 429
        assert refused.headers["retry-after"] == "1"
        await asyncio.sleep(1.05)
        assert (await client.get("/second")).status_code == 200


@pytest.mark.anyio
async def test_routes_count_separately_and_clients_separately() -> None:
    async with running_app(routers=[router], client=("198.51.100.1", 1000)) as (app, client):
        assert await statuses(client, "/login", 4) == [200, 200, 200, 429]
        assert await statuses(client, "/login/otp", 1) == [200]
    # Another peer address: its own budget, even within the same app instance's storage.
    async with running_app(app.state.settings, [router], client=("198.51.100.2", 1000)) as (_, other):
        assert await statuses(other, "/login", 1) == [200]


@pytest.mark.anyio
async def test_spoofed_forwarded_for_from_an_untrusted_peer_does_not_change_the_key() -> None:
    async with running_app(routers=[router], client=("198.51.100.1", 1000)) as (_, client):
        spoofed = [
            (await client.post("/login", headers={"X-Forwarded-For": f"203.0.113.{n}", "X_FORWARDED_FOR": f"10.{n}"}))
            for n in range(4)
        ]
    assert [response.status_code for response in spoofed] == [200, 200, 200, 429]


@pytest.mark.anyio
async def test_forwarded_for_from_a_trusted_proxy_keys_on_the_real_client() -> None:
    settings = make_settings(trusted_proxies="10.0.0.5")
    async with running_app(settings, [router], client=("10.0.0.5", 1000)) as (_, proxy):
        first = await statuses(proxy, "/login", 4, headers={"X-Forwarded-For": "203.0.113.1"})
        second = await statuses(proxy, "/login", 1, headers={"X-Forwarded-For": "203.0.113.2"})
    assert first == [200, 200, 200, 429]
    assert second == [200]


@pytest.mark.anyio
@pytest.mark.redis
async def test_limits_are_shared_through_redis(redis_url: str) -> None:
    settings = make_settings(redis_url=redis_url)
    # Two app instances (two workers, two pods) with one Redis: the budget is shared.
    async with running_app(settings, [router]) as (app, first), running_app(settings, [router]) as (_, second):
        assert type(app.state.rate_limiter.storage).__name__ == "RedisStorage"
        assert await statuses(first, "/login", 2) == [200, 200]
        assert await statuses(second, "/login", 2) == [200, 429]
        refused = await second.post("/login")
    assert refused.status_code == 429
    assert 55 <= int(refused.headers["retry-after"]) <= 60


@pytest.mark.anyio
@pytest.mark.parametrize(("fail_open", "expected"), [(True, 200), (False, 503)])
async def test_redis_down_follows_the_fail_open_setting(fail_open: bool, expected: int) -> None:
    settings = make_settings(
        redis_url=f"redis://127.0.0.1:{free_port()}/0", rate_limit_fail_open=fail_open, redis_timeout=0.5
    )
    async with running_app(settings, [router]) as (_, client):
        response = await client.post("/login")
    assert response.status_code == expected
    if expected == 503:
        assert response.headers["content-type"] == "application/problem+json"
        assert 1 <= int(response.headers["retry-after"]) <= 5  # until the limiter asks Redis again
        assert "127.0.0.1" not in response.text


@pytest.mark.anyio
async def test_a_hung_redis_costs_one_timeout_then_the_policy_applies_at_once() -> None:
    with socket.socket() as blackhole:  # accepts connections, never answers
        blackhole.bind(("127.0.0.1", 0))
        blackhole.listen(16)
        port = blackhole.getsockname()[1]
        settings = make_settings(redis_url=f"redis://127.0.0.1:{port}/0", rate_limit_fail_open=False, redis_timeout=0.4)
        async with running_app(settings, [router]) as (_, client):
            started = time.perf_counter()
            first = await client.post("/login")
            first_took = time.perf_counter() - started
            started = time.perf_counter()
            second = await client.post("/login")
            second_took = time.perf_counter() - started
    assert (first.status_code, second.status_code) == (503, 503)
    assert 0.3 < first_took < 1.5
    assert second_took < 0.2
    assert 1 <= int(second.headers["retry-after"]) <= 5


def test_an_invalid_limit_fails_at_definition_time() -> None:
    with pytest.raises(ValueError, match="invalid rate limit 'five a minute'"):
        rate_limiting.rate_limit("five a minute")


def test_an_unknown_strategy_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown rate-limit strategy"):
        rate_limiting.Limiter(rate_limiting.MemoryStorage(), strategy="leaky")


item_router = APIRouter()


@item_router.get("/items/{item_id}", dependencies=[Depends(rate_limiting.rate_limit("2/minute"))])
async def read_item(item_id: int) -> dict[str, int]:
    return {"id": item_id}


@item_router.delete("/items/{item_id}", dependencies=[Depends(rate_limiting.rate_limit("2/minute"))])
async def delete_item(item_id: int) -> dict[str, int]:
    return {"id": item_id}


@pytest.mark.anyio
async def test_a_route_counts_by_its_path_template_and_method() -> None:
    async with running_app(routers=[item_router]) as (_, client):
        reads = [(await client.get(f"/items/{n}")).status_code for n in range(3)]
        deletes = [(await client.delete(f"/items/{n}")).status_code for n in range(2)]
    # Different ids do not reset the budget; another method on the same path has its own.
    assert reads == [200, 200, 429]
    assert deletes == [200, 200]
