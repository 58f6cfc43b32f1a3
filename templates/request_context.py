"""The current request's ID, shared by the middleware, the error handlers and the logs.

Rules: PF201, PF401

Adopt: you rarely import this directly: ``middleware.get_request_id()`` re-exports the reader. It lives in its own
module so the error handlers can read the ID without importing the middleware (which imports them).
"""

from __future__ import annotations

import os
import re
from contextvars import ContextVar, Token

from starlette.types import Scope

REQUEST_ID_HEADER = "X-Request-ID"
# Key under scope["state"] (what request.state reads). The 500 handler runs in Starlette's ServerErrorMiddleware,
# outside every user middleware, after the contextvar has been reset: the scope is the only place it can find the ID.
REQUEST_ID_STATE_KEY = "request_id"

# Inbound IDs end up in log lines and response headers: allow only characters that cannot break either
# (no spaces, quotes, control characters or newlines) and cap the length so a client cannot bloat every log line.
_VALID_REQUEST_ID = re.compile(r"[A-Za-z0-9._:+=/-]{1,128}")

_request_id: ContextVar[str | None] = ContextVar("request_id", default=None)


def get_request_id() -> str | None:
    """The ID of the request being handled, or None outside a request."""
    return _request_id.get()


def new_request_id() -> str:
    """A random version-4 UUID as 32 hex digits, what ``uuid.uuid4().hex`` returns, at a third of its cost."""
    raw = bytearray(os.urandom(16))
    raw[6] = raw[6] & 0x0F | 0x40  # version 4
    raw[8] = raw[8] & 0x3F | 0x80  # RFC 4122 variant
    return raw.hex()


def accept_request_id(candidate: str | None) -> str:
    """The inbound ID when it is well formed, else a fresh one (an invalid ID is replaced, never echoed)."""
    if candidate is not None and _VALID_REQUEST_ID.fullmatch(candidate):
        return candidate
    return new_request_id()


def bind_request_id(scope: Scope, request_id: str) -> Token[str | None]:
    """Make ``request_id`` the current one (contextvar and ``scope["state"]``); reset with ``unbind_request_id``."""
    scope.setdefault("state", {})[REQUEST_ID_STATE_KEY] = request_id
    return _request_id.set(request_id)


def unbind_request_id(token: Token[str | None]) -> None:
    _request_id.reset(token)


def request_id_from_scope(scope: Scope) -> str | None:
    state = scope.get("state")
    if isinstance(state, dict):
        value = state.get(REQUEST_ID_STATE_KEY)
        if isinstance(value, str):
            return value
    return _request_id.get()
