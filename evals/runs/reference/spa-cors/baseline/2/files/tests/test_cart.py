import httpx
import pytest

from app.main import app


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.mark.anyio
async def test_cart_needs_a_session() -> None:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        anonymous = await client.get("/cart")
        client.cookies.set("session", "s-alice-1")
        signed_in = await client.get("/cart")
    assert anonymous.status_code == 401
    assert signed_in.status_code == 200
    assert "espresso cups" in signed_in.json()["items"]
