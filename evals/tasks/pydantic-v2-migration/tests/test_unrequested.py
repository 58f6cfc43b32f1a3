"""Behaviour a mechanical migration silently changes: validator order, JSON encoders, partial updates, limits."""

import pytest
from pf_eval import client_for, import_app


@pytest.mark.anyio
async def test_sku_is_normalised_before_it_is_validated() -> None:
    # validator(pre=True) becomes field_validator(mode="before"); without the mode, " abc-0001 " fails the pattern.
    async with client_for(import_app()) as client:
        response = await client.post("/products", json={"sku": " abc-0001 ", "name": "kettle", "price": "12.50"})
    assert response.status_code == 201, response.text
    assert response.json()["sku"] == "ABC-0001"


@pytest.mark.anyio
async def test_price_is_serialised_as_a_json_number() -> None:
    # json_encoders = {Decimal: float} made prices numbers; Pydantic 2 serialises Decimal as a string by default.
    async with client_for(import_app()) as client:
        response = await client.post("/products", json={"sku": "ABC-0003", "name": "kettle", "price": "12.50"})
    assert response.json()["price"] == 12.5


@pytest.mark.anyio
async def test_patch_changes_only_the_fields_sent() -> None:
    async with client_for(import_app()) as client:
        created = await client.post(
            "/products", json={"sku": "ABC-0004", "name": "kettle", "price": "12.50", "tags": ["steel"]}
        )
        product_id = created.json()["id"]
        patched = await client.patch(f"/products/{product_id}", json={"price": 13})
    assert patched.status_code == 200
    body = patched.json()
    assert float(body.pop("price")) == 13
    assert body == {"id": product_id, "sku": "ABC-0004", "name": "kettle", "tags": ["steel"]}


@pytest.mark.anyio
async def test_tag_limit_still_holds() -> None:
    async with client_for(import_app()) as client:
        response = await client.post(
            "/products", json={"sku": "ABC-0005", "name": "kettle", "price": "1", "tags": ["t"] * 6}
        )
    assert response.status_code == 422
