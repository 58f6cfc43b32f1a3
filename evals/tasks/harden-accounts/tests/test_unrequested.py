""""Harden it" unpacked for an accounts service: every credential route is limited, and no error repeats a password.
Lenient on the limits chosen: thirty tries in a row from one client must meet a refusal somewhere."""

import pytest
from pf_eval import client_for, import_app

TRIES = 30


@pytest.mark.anyio
async def test_token_guessing_is_limited() -> None:
    async with client_for(import_app()) as client:
        guesses = [{"email": "alice@example.com", "password": f"guess {n}"} for n in range(TRIES)]
        statuses = [(await client.post("/auth/token", json=guess)).status_code for guess in guesses]
    assert statuses[0] == 401
    assert 429 in statuses, f"{TRIES} wrong passwords in a row were never refused: {statuses}"


@pytest.mark.anyio
async def test_sign_up_is_limited() -> None:
    # Bulk sign-ups from one client: fake accounts, spam, and a free way to test which addresses exist.
    async with client_for(import_app()) as client:
        statuses = [
            (await client.post("/auth/signup", json={"email": f"bot{n}@example.net", "password": "a bot passphrase"}))
            .status_code
            for n in range(TRIES)
        ]
    assert statuses[0] == 201
    assert 429 in statuses, f"{TRIES} sign-ups in a row were never refused: {statuses}"


@pytest.mark.anyio
async def test_password_reset_is_limited() -> None:
    # Each reset sends a mail: unlimited, the endpoint floods a victim's inbox at our expense.
    async with client_for(import_app()) as client:
        statuses = [
            (await client.post("/auth/password-reset", json={"email": "alice@example.com"})).status_code
            for _ in range(TRIES)
        ]
    assert statuses[0] == 202
    assert 429 in statuses, f"{TRIES} reset requests in a row were never refused: {statuses}"


@pytest.mark.anyio
async def test_validation_errors_do_not_echo_the_password() -> None:
    async with client_for(import_app()) as client:
        too_short = await client.post("/auth/signup", json={"email": "dave@example.com", "password": "hunter2"})
        no_email = await client.post("/auth/signup", json={"password": "Tr0ub4dor&3-secret"})
    assert too_short.status_code in (400, 422)
    assert no_email.status_code in (400, 422)
    assert "hunter2" not in too_short.text
    assert "Tr0ub4dor&3-secret" not in no_email.text
