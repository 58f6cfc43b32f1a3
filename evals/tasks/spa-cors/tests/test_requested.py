"""The two front ends from CORS_ORIGINS may call the API with credentials."""

import pytest
from pf_eval import client_for, import_app

PREFLIGHT = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"}


@pytest.mark.anyio
@pytest.mark.parametrize("origin", ["https://app.example.com", "https://admin.example.com"])
async def test_listed_origins_pass_preflight_with_credentials(origin: str) -> None:
    async with client_for(import_app()) as client:
        response = await client.options("/cart", headers={"Origin": origin, **PREFLIGHT})
    assert response.status_code == 200
    assert response.headers.get("access-control-allow-origin") == origin
    assert response.headers.get("access-control-allow-credentials") == "true"


@pytest.mark.anyio
async def test_listed_origin_reads_the_cart_with_its_cookie() -> None:
    async with client_for(import_app()) as client:
        client.cookies.set("session", "s-alice-1")
        response = await client.get("/cart", headers={"Origin": "https://app.example.com"})
    assert response.status_code == 200
    assert response.headers.get("access-control-allow-origin") == "https://app.example.com"
    assert response.headers.get("access-control-allow-credentials") == "true"
