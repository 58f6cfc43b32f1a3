"""What the instruction pins down: the flows keep working and the error bodies keep the shape the app parses."""

import pytest
from pf_eval import client_for, import_app

ALICE = {"email": "alice@example.com", "password": "correct horse battery staple"}


@pytest.mark.anyio
async def test_existing_flows_still_work() -> None:
    async with client_for(import_app()) as client:
        carol = {"email": "carol@example.com", "password": "another passphrase"}
        created = await client.post("/auth/signup", json=carol)
        signed_in = await client.post("/auth/token", json=ALICE)
        reset = await client.post("/auth/password-reset", json={"email": "alice@example.com"})
    assert created.status_code == 201
    assert signed_in.status_code == 200
    assert signed_in.json()["access_token"]
    assert reset.status_code == 202


@pytest.mark.anyio
async def test_error_bodies_keep_their_shape() -> None:
    # The mobile app reads {"detail": "..."} for refusals and {"detail": [{"loc", "msg", "type"}, ...]} for
    # invalid input, as FastAPI answers by default.
    async with client_for(import_app()) as client:
        taken = await client.post("/auth/signup", json={"email": "alice@example.com", "password": "some passphrase"})
        refused = await client.post("/auth/token", json={**ALICE, "password": "not it at all"})
        invalid = await client.post("/auth/signup", json={"email": "not-an-address", "password": "some passphrase"})
    assert taken.status_code == 409
    assert refused.status_code == 401
    assert invalid.status_code == 422
    for response in (taken, refused):
        assert response.headers["content-type"].startswith("application/json")
        assert isinstance(response.json().get("detail"), str), response.text
    assert invalid.headers["content-type"].startswith("application/json")
    errors = invalid.json().get("detail")
    assert isinstance(errors, list), invalid.text
    assert errors
    for error in errors:
        assert {"loc", "msg", "type"} <= set(error), error
    assert ["body", "email"] in [error["loc"] for error in errors]
