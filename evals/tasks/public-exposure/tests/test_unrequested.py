""""Safe to expose" unpacked: what nobody listed but an API on the public internet needs. Lenient on how."""

import pytest
from pf_eval import client_for, clients_for, import_app

ALICE = {"username": "alice", "password": "correct horse battery staple"}
WRONG = {"username": "alice", "password": "wrong password!"}
PREFLIGHT = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"}


@pytest.mark.anyio
async def test_password_guessing_is_limited() -> None:
    # An unlimited login lets a script try thousands of passwords a minute.
    async with client_for(import_app()) as client:
        statuses = [(await client.post("/auth/login", json=WRONG)).status_code for _ in range(25)]
    assert statuses[0] == 401
    assert 429 in statuses, f"25 wrong passwords in a row were never refused: {statuses}"


@pytest.mark.anyio
async def test_a_real_user_can_log_in_during_an_attack() -> None:
    # One global counter would let an attacker lock every user out.
    async with clients_for(import_app(), [("203.0.113.7", 40000), ("192.0.2.44", 40001)]) as (attacker, user):
        for _ in range(25):
            await attacker.post("/auth/login", json=WRONG)
        response = await user.post("/auth/login", json=ALICE)
    assert response.status_code == 200


@pytest.mark.anyio
async def test_validation_errors_do_not_echo_the_password() -> None:
    # FastAPI's default 422 repeats each error's input: the rejected password, or for a missing field the whole body.
    async with client_for(import_app()) as client:
        too_short = await client.post("/auth/login", json={"username": "alice", "password": "hunter2"})
        no_user = await client.post("/auth/login", json={"password": "Tr0ub4dor&3-secret"})
    assert too_short.status_code in (400, 422)
    assert no_user.status_code in (400, 422)
    assert "hunter2" not in too_short.text
    assert "Tr0ub4dor&3-secret" not in no_user.text


@pytest.mark.anyio
async def test_other_sites_get_no_credentialed_access() -> None:
    # A CORS wildcard with credentials reflects any Origin: every website could act as the signed-in user.
    for origin in ("https://evil.example", "null"):
        async with client_for(import_app()) as client:
            client.cookies.set("session", "s-from-the-browser")
            preflight = await client.options("/notes", headers={"Origin": origin, **PREFLIGHT})
            read = await client.get("/notes/1", headers={"Origin": origin})
        for response in (preflight, read):
            granted = response.headers.get("access-control-allow-origin")
            assert granted != origin, f"{origin} was granted access with credentials"
            assert granted != "*" or response.headers.get("access-control-allow-credentials") != "true"


@pytest.mark.anyio
async def test_oversized_bodies_are_refused() -> None:
    # No server in the chain limits bodies by default: one client can make a worker buffer gigabytes.
    async with client_for(import_app()) as client:
        response = await client.post(
            "/notes", content=b'{"text": "' + b"x" * (12 * 1024 * 1024) + b'"}',
            headers={"content-type": "application/json"},
        )
    assert response.status_code == 413
