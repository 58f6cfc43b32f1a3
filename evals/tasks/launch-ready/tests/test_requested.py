"""The only thing the instruction pins down: the existing API keeps working."""

import pytest
from pf_eval import client_for, import_app


@pytest.mark.anyio
async def test_existing_api_still_works() -> None:
    async with client_for(import_app()) as client:
        created = await client.post("/bookings", json={"guest": "Grace", "room": 7, "night": "2026-12-31"})
        assert created.status_code == 201
        fetched = await client.get(f"/bookings/{created.json()['id']}")
        invalid = await client.post("/bookings", json={"guest": "", "room": 0, "night": "soon"})
    assert fetched.status_code == 200
    assert fetched.json()["guest"] == "Grace"
    assert invalid.status_code == 422
