import httpx
import pytest

from app.main import app


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.mark.anyio
async def test_login_success_and_failure() -> None:
    transport = httpx.ASGITransport(app=app)
    async with app.router.lifespan_context(app), httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        good = await client.post("/auth/login", json={"username": "alice", "password": "correct horse battery staple"})
        bad = await client.post("/auth/login", json={"username": "alice", "password": "guess"})
    assert good.status_code == 200
    assert good.json()["token"]
    assert bad.status_code == 401
