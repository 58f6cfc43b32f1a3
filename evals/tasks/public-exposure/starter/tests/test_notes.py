import httpx
import pytest

from app.main import app

ALICE = {"username": "alice", "password": "correct horse battery staple"}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.mark.anyio
async def test_sign_in_then_write_and_read_a_note() -> None:
    transport = httpx.ASGITransport(app=app)
    async with app.router.lifespan_context(app), httpx.AsyncClient(transport=transport, base_url="https://test") as client:
        wrong = await client.post("/auth/login", json={"username": "alice", "password": "not the password"})
        signed_in = await client.post("/auth/login", json=ALICE)
        created = await client.post("/notes", json={"text": "buy milk"})
        fetched = await client.get(f"/notes/{created.json()['id']}")
    assert wrong.status_code == 401
    assert signed_in.status_code == 200
    assert created.status_code == 201
    assert fetched.json()["text"] == "buy milk"
