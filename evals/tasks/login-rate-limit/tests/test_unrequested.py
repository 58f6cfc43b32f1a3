"""What makes a limit hold in production: Retry-After, no spoofable key, one client's limit not blocking others."""

import pytest
from pf_eval import client_for, clients_for, import_app

WRONG = {"username": "alice", "password": "guess"}


@pytest.mark.anyio
async def test_refusal_says_when_to_retry() -> None:
    async with client_for(import_app()) as client:
        for _ in range(5):
            await client.post("/auth/login", json=WRONG)
        refused = await client.post("/auth/login", json=WRONG)
    assert refused.status_code == 429
    retry_after = refused.headers.get("retry-after")
    assert retry_after is not None, "429 without Retry-After: clients retry at once and stay locked out"
    assert retry_after.isdigit()
    assert 1 <= int(retry_after) <= 60


@pytest.mark.anyio
async def test_forwarding_headers_from_the_client_do_not_reset_the_limit() -> None:
    # The peer is not a trusted proxy, so a header it sends is just a claim: rotating it must not buy attempts.
    async with client_for(import_app()) as client:
        statuses = []
        for attempt in range(7):
            fake = f"198.51.100.{attempt + 1}"
            headers = {"X-Forwarded-For": fake, "X-Real-IP": fake, "X_FORWARDED_FOR": fake, "Forwarded": f"for={fake}"}
            statuses.append((await client.post("/auth/login", json=WRONG, headers=headers)).status_code)
    assert 429 in statuses, f"spoofed forwarding headers reset the limit: {statuses}"


@pytest.mark.anyio
async def test_limit_is_per_client() -> None:
    # A global counter lets one attacker lock every user out of login.
    async with clients_for(import_app(), [("203.0.113.7", 40000), ("192.0.2.44", 40001)]) as (attacker, user):
        statuses = [(await attacker.post("/auth/login", json=WRONG)).status_code for _ in range(6)]
        response = await user.post(
            "/auth/login", json={"username": "alice", "password": "correct horse battery staple"}
        )
    assert response.status_code == 200
    assert statuses[-1] == 429, "the attacker was never limited"
