import httpx
import pytest

from app.main import app


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.mark.anyio
async def test_create_and_read() -> None:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        created = await client.post("/products", json={"sku": "KTL-0001", "name": "kettle", "price": "39.00"})
        read = await client.get(f"/products/{created.json()['id']}")
    assert created.status_code == 201
    assert read.json()["name"] == "kettle"


@pytest.mark.anyio
async def test_rejects_bad_sku() -> None:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        response = await client.post("/products", json={"sku": "nope", "name": "x", "price": 1})
    assert response.status_code == 422
