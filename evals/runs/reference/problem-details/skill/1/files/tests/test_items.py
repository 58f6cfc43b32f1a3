import httpx
import pytest

from app.main import app


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def client() -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


@pytest.mark.anyio
async def test_get_item(client: httpx.AsyncClient) -> None:
    response = await client.get("/items/ABC-0001")
    assert response.status_code == 200


@pytest.mark.anyio
async def test_missing_item(client: httpx.AsyncClient) -> None:
    assert (await client.get("/items/ZZZ-9999")).status_code == 404


@pytest.mark.anyio
async def test_invalid_item(client: httpx.AsyncClient) -> None:
    response = await client.post("/items", json={"sku": "bad", "name": "", "stock": -1})
    assert response.status_code == 422
