"""The limit the instruction names: five attempts a minute, the sixth refused with 429."""

import pytest
from pf_eval import client_for, import_app

WRONG = {"username": "alice", "password": "guess"}


@pytest.mark.anyio
async def test_sixth_attempt_in_a_minute_is_refused() -> None:
    async with client_for(import_app()) as client:
        statuses = [(await client.post("/auth/login", json=WRONG)).status_code for _ in range(6)]
    assert statuses[:5] == [401] * 5
    assert statuses[5] == 429


@pytest.mark.anyio
async def test_normal_login_still_works() -> None:
    async with client_for(import_app()) as client:
        response = await client.post(
            "/auth/login", json={"username": "alice", "password": "correct horse battery staple"}
        )
    assert response.status_code == 200
