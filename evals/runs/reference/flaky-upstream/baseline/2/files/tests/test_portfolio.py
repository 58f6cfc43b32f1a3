import httpx
import pytest

from app.main import app


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.mark.anyio
async def test_lists_holdings() -> None:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        response = await client.get("/portfolio/bob")
    assert response.status_code == 200
    assert response.json() == {"user_id": "bob", "holdings": {"ACME": 1}}


@pytest.mark.anyio
async def test_unknown_user() -> None:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        response = await client.get("/portfolio/mallory")
    assert response.status_code == 404
