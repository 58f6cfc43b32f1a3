"""A credentialed CORS policy must not hand the user's session to any other site."""

import pytest
from pf_eval import client_for, import_app

PREFLIGHT = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"}


async def _granted(origin: str) -> list[str]:
    """The CORS grants an origin receives, for a preflight and for a cookie-carrying read."""
    async with client_for(import_app()) as client:
        client.cookies.set("session", "s-alice-1")
        preflight = await client.options("/cart", headers={"Origin": origin, **PREFLIGHT})
        read = await client.get("/cart", headers={"Origin": origin})
    return [
        value for value in (
            preflight.headers.get("access-control-allow-origin"), read.headers.get("access-control-allow-origin")
        )
        if value in (origin, "*")
    ]


@pytest.mark.anyio
async def test_unlisted_and_null_origins_get_no_grant() -> None:
    # Reflecting any Origin with credentials lets every website read the signed-in user's cart.
    assert await _granted("https://evil.example") == []
    assert await _granted("null") == []


@pytest.mark.anyio
async def test_lookalike_origin_gets_no_grant() -> None:
    # An origin pattern with an unescaped dot also matches a domain anyone can register.
    assert await _granted("https://appxexample.com") == []


@pytest.mark.anyio
async def test_granted_responses_vary_on_origin() -> None:
    # Without Vary: Origin a shared cache can serve one origin's grant to another.
    async with client_for(import_app()) as client:
        client.cookies.set("session", "s-alice-1")
        response = await client.get("/cart", headers={"Origin": "https://admin.example.com"})
    assert "origin" in response.headers.get("vary", "").lower()
