"""Errors nobody listed: router-level 404/405, crashes, and what error bodies must never echo."""

import pytest
from pf_eval import client_for, import_app


@pytest.mark.anyio
async def test_unknown_route_and_wrong_method_use_the_same_format() -> None:
    # Starlette's router raises its own HTTPException for these; handlers on FastAPI's subclass miss them.
    async with client_for(import_app()) as client:
        unknown = await client.get("/no-such-route")
        wrong_method = await client.delete("/items/ABC-0001")
    assert unknown.status_code == 404
    assert unknown.headers["content-type"].startswith("application/problem+json")
    assert wrong_method.status_code == 405
    assert wrong_method.headers["content-type"].startswith("application/problem+json")


@pytest.mark.anyio
async def test_crash_is_a_generic_500_problem_without_internals() -> None:
    async with client_for(import_app()) as client:
        response = await client.get("/reports/restock")
    assert response.status_code == 500
    assert response.headers["content-type"].startswith("application/problem+json")
    for leak in ("s3cr3t-pass", "wh-db.internal", "ConnectionError", "Traceback"):
        assert leak not in response.text, f"500 body reveals {leak!r}"


@pytest.mark.anyio
async def test_error_bodies_do_not_echo_query_strings_or_rejected_input() -> None:
    # Error bodies get logged and cached by proxies: a token in the URL or a password in the input must stay out.
    async with client_for(import_app()) as client:
        missing = await client.get("/items/ZZZ-9999", params={"access_token": "tok-SENSITIVE-1"})
        invalid = await client.post(
            "/items", json={"sku": "pw:hunter2-SENSITIVE", "name": "x", "stock": 1}
        )
    assert missing.status_code == 404
    assert "tok-SENSITIVE-1" not in missing.text
    assert invalid.status_code == 422
    assert "hunter2-SENSITIVE" not in invalid.text
