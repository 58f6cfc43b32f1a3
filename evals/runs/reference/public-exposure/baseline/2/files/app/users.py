"""The user store and sessions. Passwords are PBKDF2 hashes; a few iterations keep the tests fast."""

import hashlib
import hmac
import secrets

_SALT = b"notes-api-test-salt"
_ITERATIONS = 1_000


def hash_password(password: str) -> bytes:
    return hashlib.pbkdf2_hmac("sha256", password.encode(), _SALT, _ITERATIONS)


USERS: dict[str, bytes] = {"alice": hash_password("correct horse battery staple")}
SESSIONS: dict[str, str] = {}


def authenticate(username: str, password: str) -> str | None:
    """A new session token when the credentials match, else None."""
    stored = USERS.get(username)
    if stored is None or not hmac.compare_digest(stored, hash_password(password)):
        return None
    token = secrets.token_urlsafe(24)
    SESSIONS[token] = username
    return token


def user_for_session(token: str | None) -> str | None:
    return SESSIONS.get(token) if token else None
