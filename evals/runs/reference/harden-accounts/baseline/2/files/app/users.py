"""Accounts and the outgoing mail queue. Passwords are PBKDF2 hashes; a few iterations keep the tests fast."""

import hashlib
import hmac
import secrets

_SALT = b"accounts-service-test-salt"
_ITERATIONS = 1_000

ACCOUNTS: dict[str, bytes] = {}
# Password-reset mails waiting for the mailer; each one costs us a send.
OUTBOX: list[str] = []


def hash_password(password: str) -> bytes:
    return hashlib.pbkdf2_hmac("sha256", password.encode(), _SALT, _ITERATIONS)


def register(email: str, password: str) -> bool:
    """False when the address already has an account."""
    if email in ACCOUNTS:
        return False
    ACCOUNTS[email] = hash_password(password)
    return True


def authenticate(email: str, password: str) -> str | None:
    stored = ACCOUNTS.get(email)
    if stored is None or not hmac.compare_digest(stored, hash_password(password)):
        return None
    return secrets.token_urlsafe(24)


def send_reset_mail(email: str) -> None:
    if email in ACCOUNTS:
        OUTBOX.append(email)


register("alice@example.com", "correct horse battery staple")
