"""What the instruction pins down: the API and its web app keep working."""

import pytest
from pf_eval import client_for, import_app

ALICE = {"username": "alice", "password": "correct horse battery staple"}
WEB_APP = "https://notes.example.com"
PREFLIGHT = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"}


@pytest.mark.anyio
async def test_existing_api_still_works() -> None:
    async with client_for(import_app()) as client:
        signed_in = await client.post("/auth/login", json=ALICE)
        assert signed_in.status_code == 200
        # The cookie is Secure and the test client speaks plain http: carry it by hand.
        client.cookies.set("session", signed_in.cookies["session"])
        created = await client.post("/notes", json={"text": "buy milk"})
        fetched = await client.get(f"/notes/{created.json()['id']}")
        wrong = await client.post("/auth/login", json={"username": "alice", "password": "not the password"})
    assert created.status_code == 201
    assert fetched.json()["text"] == "buy milk"
    assert wrong.status_code == 401


@pytest.mark.anyio
async def test_web_app_can_still_call_the_api() -> None:
    async with client_for(import_app()) as client:
        client.cookies.set("session", "s-from-the-browser")
        preflight = await client.options("/notes", headers={"Origin": WEB_APP, **PREFLIGHT})
        read = await client.get("/notes/1", headers={"Origin": WEB_APP})
    assert preflight.status_code == 200
    for response in (preflight, read):
        assert response.headers.get("access-control-allow-origin") == WEB_APP
        assert response.headers.get("access-control-allow-credentials") == "true"
