"""The user store. Passwords are PBKDF2 hashes; a few iterations keep the tests fast (production uses 600k)."""

import hashlib
import hmac
import secrets

_SALT = b"accounts-service-test-salt"
_ITERATIONS = 1_000


def hash_password(password: str) -> bytes:
    return hashlib.pbkdf2_hmac("sha256", password.encode(), _SALT, _ITERATIONS)


USERS: dict[str, bytes] = {"alice": hash_password("correct horse battery staple")}


def authenticate(username: str, password: str) -> str | None:
    """A session token when the credentials match, else None."""
    stored = USERS.get(username)
    if stored is None or not hmac.compare_digest(stored, hash_password(password)):
        return None
    return secrets.token_urlsafe(24)
