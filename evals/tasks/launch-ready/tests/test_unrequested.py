""""Production-ready" unpacked: what nobody listed but every production service needs. Lenient on conventions."""

import pytest
from pf_eval import LIVENESS_PATHS, client_for, first_ok, import_app

REQUEST_ID_HEADERS = ("x-request-id", "x-correlation-id", "request-id")


@pytest.mark.anyio
async def test_has_a_liveness_probe() -> None:
    async with client_for(import_app()) as client:
        assert await first_ok(client, LIVENESS_PATHS) is not None, f"none of {LIVENESS_PATHS} answers 2xx"


@pytest.mark.anyio
async def test_responses_carry_a_request_id() -> None:
    async with client_for(import_app()) as client:
        response = await client.get("/bookings/999")
    assert any(response.headers.get(name) for name in REQUEST_ID_HEADERS), dict(response.headers)


@pytest.mark.anyio
async def test_responses_carry_basic_security_headers() -> None:
    async with client_for(import_app()) as client:
        response = await client.get("/bookings/999")
    assert response.headers.get("x-content-type-options", "").lower() == "nosniff"


@pytest.mark.anyio
async def test_oversized_bodies_are_refused() -> None:
    # No server in the chain limits bodies by default: one client can make a worker buffer gigabytes.
    async with client_for(import_app()) as client:
        response = await client.post(
            "/bookings", content=b'{"guest": "' + b"x" * (12 * 1024 * 1024) + b'"}',
            headers={"content-type": "application/json"},
        )
    assert response.status_code == 413


@pytest.mark.anyio
async def test_crash_reveals_nothing_internal() -> None:
    async with client_for(import_app()) as client:
        response = await client.get("/bookings/1/receipt")
    assert response.status_code == 500
    for leak in ("pk_live_4f9a1c2b7d", "RuntimeError", "Traceback", "payment gateway rejected"):
        assert leak not in response.text
