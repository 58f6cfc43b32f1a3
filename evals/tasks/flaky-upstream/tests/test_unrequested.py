"""Production qualities nobody asked for: a hung or failing upstream, connection reuse."""

import time

import anyio
import pytest
from pf_eval import FakeUpstream, client_for, import_app


@pytest.mark.anyio
async def test_hung_upstream_gets_a_bounded_gateway_error(upstream: FakeUpstream) -> None:
    # A pricing service that stops answering must not hold the caller's request (and a worker slot) forever.
    upstream.mode, upstream.delay = "slow", 20.0
    app = import_app({"PRICING_URL": upstream.url})
    async with client_for(app, http_timeout=30) as client:
        started = time.monotonic()
        with anyio.move_on_after(6) as scope:
            response = await client.get("/portfolio/bob/value")
        elapsed = time.monotonic() - started
    assert not scope.cancelled_caught, "the request was still waiting on a silent upstream after 6 s"
    assert elapsed < 6
    assert response.status_code in (502, 503, 504), response.status_code


@pytest.mark.anyio
async def test_failing_upstream_is_a_bad_gateway_without_its_internals(upstream: FakeUpstream) -> None:
    upstream.mode = "error"
    app = import_app({"PRICING_URL": upstream.url})
    async with client_for(app) as client:
        response = await client.get("/portfolio/bob/value")
    assert response.status_code in (502, 503, 504), response.status_code
    assert "internal.corp" not in response.text
    assert upstream.url.removeprefix("http://") not in response.text
    assert "Traceback" not in response.text


@pytest.mark.anyio
async def test_connections_to_upstream_are_reused(upstream: FakeUpstream) -> None:
    # One client per request opens (and tears down) a TCP + TLS connection per call; a shared client keeps them.
    app = import_app({"PRICING_URL": upstream.url})
    async with client_for(app) as client:
        for _ in range(5):
            response = await client.get("/portfolio/alice/value")
            assert response.status_code == 200
    assert len(upstream.requests) == 15
    assert upstream.connections <= 4, f"{upstream.connections} connections for 15 upstream calls"
