"""A request body limit for an existing app: a 413 in the app's own error format, sent inside its other middleware.

Rules: PF504

Adopt: copy this one file next to your app (it imports nothing of the other templates) and call
``install_body_limit(app, max_body_size=1_048_576)`` before the app serves, wherever your ``add_middleware`` calls
are. An oversized body (a declared ``Content-Length`` over the limit, or a chunked body whose running count passes
it) gets a 413 rendered by the app's own ``HTTPException`` handler: ``{"detail": "Content Too Large"}`` on an app
that keeps FastAPI's defaults, problem+json on one that installed such a handler. Bodies under the limit, and
routes that never read the body, are untouched. Per-route ``max_body_size=`` (FastAPI 0.164+) raises or lowers
the limit for one route or router and shares this counter. Needs Starlette 1.6+ (``RequestBodyLimitMiddleware``).

Why not ``FastAPI(max_body_size=...)`` alone: for a declared oversize ``Content-Length``, Starlette's limiter
replaces whatever the app answered with its own plain-text 413, sent outside all user middleware, so that response
has no CORS headers (a browser reports a network error, not a 413), no request ID and no security headers.
Services on the full templates use ``middleware.BodyLimitMiddleware`` instead; don't install both.
"""

from __future__ import annotations

import inspect

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.body_limit import RequestBodyLimitMiddleware
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["RequestBodyLimit", "install_body_limit"]

# The application's own http.response.start message, kept in the scope: a 413 start message that is not this very
# object was sent by Starlette's limiter, which also replaces a response the application had begun.
_APP_RESPONSE_START = "body_limit.app_response_start"


class _MarkResponseStart:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_and_mark(message: Message) -> None:
            if message["type"] == "http.response.start":
                scope[_APP_RESPONSE_START] = message
            await send(message)

        await self.app(scope, receive, send_and_mark)


async def _app_format_413(scope: Scope, receive: Receive) -> Response:
    """The 413 exactly as the app would render ``HTTPException(413)``: its own handler, else FastAPI's default."""
    handlers = getattr(scope.get("app"), "exception_handlers", {})
    handler = handlers.get(HTTPException, http_exception_handler)
    response = handler(Request(scope, receive), HTTPException(status_code=413, detail="Content Too Large"))
    if inspect.isawaitable(response):
        response = await response
    assert isinstance(response, Response)
    return response


class RequestBodyLimit:
    """Refuse request bodies over ``max_body_size`` bytes with a 413 in the app's error format."""

    def __init__(self, app: ASGIApp, max_body_size: int) -> None:
        if isinstance(max_body_size, bool) or not isinstance(max_body_size, int) or max_body_size < 0:
            msg = f"max_body_size must be a non-negative number of bytes, got {max_body_size!r}"
            raise ValueError(msg)
        self.app = RequestBodyLimitMiddleware(_MarkResponseStart(app), max_body_size=max_body_size)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        replacing = False

        async def send_app_format_413(message: Message) -> None:
            nonlocal replacing
            if message["type"] == "http.response.start":
                if message["status"] == 413 and message is not scope.get(_APP_RESPONSE_START):
                    replacing = True
                    response = await _app_format_413(scope, receive)
                    await response(scope, receive, send)
                    return
            elif replacing:
                return  # the plain-text body of the response just replaced
            await send(message)

        await self.app(scope, receive, send_app_format_413)


def install_body_limit(app: FastAPI, max_body_size: int) -> None:
    """Limit every request body to ``max_body_size`` bytes, as the innermost middleware whatever the call order."""
    if app.middleware_stack is not None:
        msg = "install_body_limit must run before the app serves its first request"
        raise RuntimeError(msg)
    # Innermost rather than add_middleware's outermost: every other middleware (CORS, request IDs, security
    # headers, access logs) then wraps the 413 the way it wraps any other response.
    app.user_middleware.append(Middleware(RequestBodyLimit, max_body_size=max_body_size))
