"""The two errors the instruction names, in problem details format."""

import pytest
from pf_eval import client_for, import_app


@pytest.mark.anyio
async def test_missing_item_is_a_problem_document() -> None:
    async with client_for(import_app()) as client:
        response = await client.get("/items/ZZZ-9999")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == 404
    assert body.get("title")
    assert "type" in body
    assert "detail" in body


@pytest.mark.anyio
async def test_invalid_input_is_a_problem_document() -> None:
    async with client_for(import_app()) as client:
        response = await client.post("/items", json={"sku": "bad", "name": "", "stock": -1})
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == 422
    assert body.get("title")
