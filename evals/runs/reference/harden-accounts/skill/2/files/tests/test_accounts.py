import httpx
import pytest

from app.main import app


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.mark.anyio
async def test_sign_up_sign_in_and_reset() -> None:
    transport = httpx.ASGITransport(app=app)
    async with app.router.lifespan_context(app), httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        created = await client.post("/auth/signup", json={"email": "bob@example.com", "password": "a long passphrase"})
        again = await client.post("/auth/signup", json={"email": "bob@example.com", "password": "a long passphrase"})
        signed_in = await client.post("/auth/token", json={"email": "bob@example.com", "password": "a long passphrase"})
        reset = await client.post("/auth/password-reset", json={"email": "bob@example.com"})
    assert created.status_code == 201
    assert again.status_code == 409
    assert signed_in.json()["token_type"] == "bearer"
    assert reset.status_code == 202
