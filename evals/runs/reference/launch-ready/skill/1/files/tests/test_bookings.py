import httpx
import pytest

from app.main import app


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.mark.anyio
async def test_create_and_get_booking() -> None:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        created = await client.post("/bookings", json={"guest": "Ada", "room": 12, "night": "2026-12-24"})
        fetched = await client.get(f"/bookings/{created.json()['id']}")
        missing = await client.get("/bookings/999")
    assert created.status_code == 201
    assert fetched.json()["guest"] == "Ada"
    assert missing.status_code == 404
