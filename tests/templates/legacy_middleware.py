"""The templates' middleware before it was fused into one layer: the reference for test_tpl_middleware_equivalence.

A verbatim copy of templates/middleware.py as it was (commit 6911db8), kept only here, except that it imports its
sibling templates through ``tpl`` (templates/ is imported as ``pf_templates`` in the tests) and reads nothing from
templates/middleware.py. Its own docstring follows.

Pure ASGI middleware: request ID, access log, security headers, body size limit, and the helper that orders them.

Adopt: call ``install_middleware(app, settings)`` in ``create_app``. Starlette makes the *last* added middleware the
outermost; the helper adds them innermost first, so a request passes, outside in: CORS (only when ``CORS_ORIGINS``
is set), proxy headers (only when ``TRUSTED_PROXIES`` is set), request ID, access log, security headers, body limit.
Request ID sits outside the access log so every access line carries the ID; the body limit sits inside both so a 413
is logged and tagged.

The body limit here is the app-wide default (``MAX_BODY_SIZE``), placed inside the request ID and access log so its
413s are tagged and logged. For a route or router that needs another limit, higher or lower, use FastAPI's own
``max_body_size=`` on it, as the official FastAPI skill recommends: both count on Starlette's one byte counter, and
the more specific limit wins.

Why not ``BaseHTTPMiddleware`` / ``@app.middleware("http")``: it runs the endpoint in another task, so contextvars
set inside it don't reach the code around it, and it costs throughput on every request.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

import structlog
from fastapi import FastAPI
from starlette.datastructures import Headers, MutableHeaders
from starlette.middleware.body_limit import RequestBodyLimitMiddleware
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from tpl_support import tpl
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

problem_response = tpl("error_handlers").problem_response
_context = tpl("request_context")
REQUEST_ID_HEADER = _context.REQUEST_ID_HEADER
accept_request_id = _context.accept_request_id
bind_request_id = _context.bind_request_id
request_id_from_scope = _context.request_id_from_scope
unbind_request_id = _context.unbind_request_id

# Probes hit these every few seconds; their access lines go to DEBUG so they don't drown real traffic.
DEFAULT_QUIET_PATHS = frozenset({"/health/live", "/health/ready"})


class RequestIDMiddleware:
    """Give every HTTP request an ID: a well-formed inbound ``X-Request-ID`` is kept, anything else is replaced.

    The ID is put in a contextvar (``get_request_id()``), bound into structlog's context for the request's
    duration, stored in ``scope["state"]`` for the 500 handler, and set once on the response.
    """

    def __init__(self, app: ASGIApp, header_name: str = REQUEST_ID_HEADER) -> None:
        if not header_name or not header_name.isascii():
            msg = "header_name must be a non-empty ASCII header name"
            raise ValueError(msg)
        self.app = app
        self.header_name = header_name

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        request_id = accept_request_id(Headers(scope=scope).get(self.header_name))

        async def send_with_request_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                # Assignment replaces any value set further in, so the header appears exactly once.
                MutableHeaders(scope=message)[self.header_name] = request_id
            await send(message)

        token = bind_request_id(scope, request_id)
        try:
            # bound_contextvars restores what was bound before, instead of wiping outer bindings the way
            # clear_contextvars() would.
            with structlog.contextvars.bound_contextvars(request_id=request_id):
                await self.app(scope, receive, send_with_request_id)
        except Exception as exc:
            # The server logs this exception again once it has left every middleware and the request's context;
            # a note on the exception carries the ID into that traceback too.
            exc.add_note(f"request_id: {request_id}")
            raise
        finally:
            unbind_request_id(token)


class AccessLogMiddleware:
    """One structured log line per HTTP request: method, path (no query string), status, duration, client.

    An exception escaping the app is logged here with its traceback as a 500 and re-raised: Starlette's error
    handler, which sends the 500, sits outside all user middleware, so this is the last place that still has the
    request's context.
    """

    def __init__(self, app: ASGIApp, quiet_paths: Iterable[str] = DEFAULT_QUIET_PATHS) -> None:
        self.app = app
        self.quiet_paths = frozenset(quiet_paths)
        self.logger = structlog.stdlib.get_logger("app.access")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        status_code = 500
        response_started = False
        start = time.perf_counter()

        async def send_and_record(message: Message) -> None:
            nonlocal status_code, response_started
            if message["type"] == "http.response.start":
                status_code = message["status"]
                response_started = True
            await send(message)

        client = scope.get("client")
        fields = {
            "method": scope["method"],
            # The path only: query strings carry tokens and personal data.
            "path": scope["path"],
            "client": client[0] if client else None,
        }
        try:
            await self.app(scope, receive, send_and_record)
        except Exception:
            # Before the response started, Starlette will answer 500; after, the client got a truncated response
            # with the status already sent.
            status = status_code if response_started else 500
            # Same event as every other access line (one per request, whatever happened), at error level and with
            # the traceback.
            self.logger.exception("request", status=status, duration_ms=_elapsed_ms(start), **fields)
            raise
        if scope["path"] in self.quiet_paths and status_code < 400:
            self.logger.debug("request", status=status_code, duration_ms=_elapsed_ms(start), **fields)
        else:
            self.logger.info("request", status=status_code, duration_ms=_elapsed_ms(start), **fields)


def _elapsed_ms(start: float) -> float:
    return round((time.perf_counter() - start) * 1000, 2)


class SecurityHeadersMiddleware:
    """Add conservative security headers to every HTTP response; a header the app already set is left alone.

    ``Strict-Transport-Security`` only goes on responses to https requests: over plain http it is ignored by
    browsers at best, and behind a TLS-terminating proxy the scheme is https only once proxy headers are trusted.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        hsts_max_age: int = 63_072_000,
        hsts_include_subdomains: bool = True,
        content_security_policy: str | None = "frame-ancestors 'none'",
        referrer_policy: str = "no-referrer",
    ) -> None:
        if hsts_max_age < 0:
            msg = "hsts_max_age must be zero or more seconds"
            raise ValueError(msg)
        self.app = app
        # Precomputed once: the per-response work is a few dictionary lookups.
        headers = {
            "X-Content-Type-Options": "nosniff",
            "X-Frame-Options": "DENY",
            "Referrer-Policy": referrer_policy,
            "Cross-Origin-Opener-Policy": "same-origin",
        }
        # The default CSP only forbids framing, which keeps FastAPI's /docs page working; APIs that serve no HTML
        # can pass "default-src 'none'; frame-ancestors 'none'".
        if content_security_policy:
            headers["Content-Security-Policy"] = content_security_policy
        self.headers = headers
        hsts = f"max-age={hsts_max_age}"
        self.hsts = f"{hsts}; includeSubDomains" if hsts_include_subdomains else hsts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        is_https = scope.get("scheme") == "https"

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in self.headers.items():
                    headers.setdefault(name, value)
                if is_https:
                    headers.setdefault("Strict-Transport-Security", self.hsts)
            await send(message)

        await self.app(scope, receive, send_with_headers)


# The application's own http.response.start message, kept in the scope: a 413 start message that is not this very
# object was sent by Starlette's limiter, which can also replace a response the application had begun.
_APP_RESPONSE_START = "app.response_start"


class _MarkResponseStart:
    """Innermost helper of BodyLimitMiddleware: remembers which response start the application itself sent."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_and_mark(message: Message) -> None:
            if message["type"] == "http.response.start":
                scope[_APP_RESPONSE_START] = message
            await send(message)

        await self.app(scope, receive, send_and_mark)


class BodyLimitMiddleware:
    """Limit request bodies app-wide to ``max_body_size`` bytes, answering 413 problem+json.

    Starlette's ``RequestBodyLimitMiddleware`` does the counting, so FastAPI's per-route and per-router
    ``max_body_size`` share its counter and can raise or lower this default. A declared ``Content-Length`` over the
    limit is refused on the first read of the body; chunked bodies when the running count passes it. Starlette
    reports that either as an ``HTTPException`` (rendered by error_handlers) or, when the application answered
    without reading the body, by sending a plain-text 413 itself: this class swaps that one for problem+json too.
    """

    def __init__(self, app: ASGIApp, max_body_size: int) -> None:
        if isinstance(max_body_size, bool) or not isinstance(max_body_size, int) or max_body_size < 0:
            msg = f"max_body_size must be a non-negative number of bytes, got {max_body_size!r}"
            raise ValueError(msg)
        self.max_body_size = max_body_size
        self.app = RequestBodyLimitMiddleware(_MarkResponseStart(app), max_body_size=max_body_size)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        replacing = False

        async def send_problem_for_limiter_413(message: Message) -> None:
            nonlocal replacing
            if message["type"] == "http.response.start":
                if message["status"] == 413 and message is not scope.get(_APP_RESPONSE_START):
                    replacing = True
                    response = problem_response(
                        status=413,
                        scope_path=scope["path"],
                        request_id=request_id_from_scope(scope),
                        detail="The request body is larger than this endpoint accepts.",
                    )
                    await response(scope, receive, send)
                    return
            elif replacing:
                return  # the plain-text body of the response we replaced
            await send(message)

        await self.app(scope, receive, send_problem_for_limiter_413)


def install_middleware(app: FastAPI, settings: Any) -> None:
    """Install the stack in the right order (remember: the last ``add_middleware`` call is the outermost)."""
    app.add_middleware(BodyLimitMiddleware, max_body_size=settings.max_body_size)
    app.add_middleware(SecurityHeadersMiddleware)
    app.add_middleware(AccessLogMiddleware)
    app.add_middleware(RequestIDMiddleware)
    if settings.trusted_proxies:
        # Outside everything that reads the client address or the scheme (access log, HSTS, rate limits).
        # uvicorn applies the same middleware itself from --forwarded-allow-ips; running it twice with the same
        # trusted list is harmless (after the first pass the client is no longer a trusted proxy).
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.trusted_proxies)
    if settings.cors_origins:
        # Outermost, so even error responses and preflights get CORS headers. Settings refuses "*".
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_credentials=True,
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
            allow_headers=["Authorization", "Content-Type", REQUEST_ID_HEADER],
            expose_headers=[REQUEST_ID_HEADER],
            max_age=600,
        )
