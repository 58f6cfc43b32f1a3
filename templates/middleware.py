"""Pure ASGI middleware: CORS, request ID, access log and security headers in one layer; the body limit in another.

Rules: PF003, PF501, PF502, PF503, PF504, PF505, PF506

Adopt: call ``install_middleware(app, settings)`` in ``create_app``. A request passes, outside in:

- uvicorn's ``ProxyHeadersMiddleware``, only when ``TRUSTED_PROXIES`` is set: the client address and scheme from
  ``X-Forwarded-For`` / ``X-Forwarded-Proto``, believed only when the peer is a listed proxy;
- ``ProductionMiddleware``, whose steps run in this order: CORS (preflights answered here, CORS headers on every
  other response, errors included), request ID, access log, security headers (HSTS on https requests only);
- ``BodyLimitMiddleware``: the app-wide ``MAX_BODY_SIZE`` on Starlette's byte counter, 413s as problem+json.

The request ID is bound before the access line is written, so the line carries it; the body limit sits inside both,
so its 413s are tagged and logged.

Why one class for four jobs: every pure ASGI layer costs a call, a closure wrapping ``send`` and its own look
through the request headers, on every request. As four layers (plus Starlette's ``CORSMiddleware``) they cost more
CPU than a small FastAPI endpoint itself; fused, they read the request headers once, wrap ``send`` once, append
precomputed response headers, and write the access line without structlog's processor chain
(``logging_config.JSONLines``: the same JSON, byte for byte). Figures: benchmarks/results/load-middleware.md.

What was traded for that speed, and how to live with it:

- Reading: the four jobs share ``__call__`` and ``_response_headers``, each in its own commented block, instead of
  four small classes. To drop one, delete its block and its constructor argument; to add a response header, add it
  to ``SECURITY_HEADERS``; for new per-request work, a separate pure ASGI class is still the clearer choice.
- Response headers take a fast path (append precomputed pairs) when the app set none of the headers managed here,
  and otherwise go through ``MutableHeaders`` step by step; both give the header list the separate layers gave
  (tests/templates/test_tpl_middleware_equivalence.py compares them with the layered stack, scenario by scenario).
- The access line skips structlog's processors when logs are native JSON: a processor you add to
  ``logging_config._native_processors`` must be mirrored in ``JSONLines.render`` (a test compares the two).
- Proxy headers stay uvicorn's own middleware, one more layer, only when ``TRUSTED_PROXIES`` is set: re-implementing
  its trust rules here would mean copying private code. It runs before CORS, which reads neither field it sets.

The body limit stays a layer of its own: FastAPI's per-route ``max_body_size=`` shares the byte counter of
Starlette's ``RequestBodyLimitMiddleware`` only when that middleware does the counting. For a route or router that
needs another limit, higher or lower, use ``max_body_size=`` on it, as the official FastAPI skill recommends: the
more specific limit wins.

Why not ``BaseHTTPMiddleware`` / ``@app.middleware("http")``: it runs the endpoint in another task, so contextvars
set inside it don't reach the code around it, and it costs throughput on every request.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Collection, Iterable, Mapping
from typing import Any

import structlog
from fastapi import FastAPI
from starlette.datastructures import MutableHeaders
from starlette.middleware.body_limit import RequestBodyLimitMiddleware
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from .error_handlers import problem_response
from .logging_config import json_lines
from .request_context import (
    REQUEST_ID_HEADER,
    accept_request_id,
    bind_request_id,
    get_request_id,
    request_id_from_scope,
    unbind_request_id,
)
from .settings import Settings

__all__ = [
    "SECURITY_HEADERS",
    "BodyLimitMiddleware",
    "ProductionMiddleware",
    "get_request_id",
    "install_middleware",
]

# Probes hit these every few seconds; their access lines go to DEBUG so they don't drown real traffic.
DEFAULT_QUIET_PATHS = frozenset({"/health/live", "/health/ready"})
ACCESS_LOGGER = "app.access"

# Added to every HTTP response that doesn't already carry them, in this order.
SECURITY_HEADERS: Mapping[str, str] = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    # Forbids framing only, which keeps FastAPI's /docs page working; an API that serves no HTML can use
    # "default-src 'none'; frame-ancestors 'none'".
    "Content-Security-Policy": "frame-ancestors 'none'",
}
# On responses to https requests only: over plain http browsers ignore it at best, and behind a TLS-terminating
# proxy the scheme is https only once proxy headers are trusted.
HSTS = "max-age=63072000; includeSubDomains"

CORS_ALLOW_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
CORS_ALLOW_HEADERS = ("Authorization", "Content-Type", REQUEST_ID_HEADER)
CORS_MAX_AGE = 600


def _encoded(headers: Iterable[tuple[str, str]]) -> list[tuple[bytes, bytes]]:
    # ASGI header names are lower-case bytes; Starlette's MutableHeaders writes them the same way.
    return [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers]


class ProductionMiddleware:
    """CORS, request ID, access log and security headers for every HTTP request, in one pass.

    - CORS (when ``cors_origins`` is given, exact origins only, credentials allowed): a preflight is answered by
      Starlette's ``CORSMiddleware`` and goes no further; every other response gets the CORS headers for its
      ``Origin``, as ``CORSMiddleware`` would add them.
    - Request ID: a well-formed inbound ``X-Request-ID`` is kept, anything else replaced. The ID is put in a
      contextvar (``get_request_id()``), in structlog's context for the request, in ``scope["state"]`` for the 500
      handler, and set once on the response.
    - Access log: one line per request (method, path without the query string, status, duration, client); an
      exception escaping the app is logged with its traceback as a 500 and re-raised. Starlette's error handler,
      which sends that 500, sits outside all user middleware: this is the last place with the request's context.
    - Security headers: ``security_headers``, plus ``hsts`` on https requests; a header the app set is left alone.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        cors_origins: Collection[str] = (),
        security_headers: Mapping[str, str] = SECURITY_HEADERS,
        hsts: str | None = HSTS,
        request_id_header: str = REQUEST_ID_HEADER,
        quiet_paths: Iterable[str] = DEFAULT_QUIET_PATHS,
    ) -> None:
        if not request_id_header or not request_id_header.isascii():
            msg = "request_id_header must be a non-empty ASCII header name"
            raise ValueError(msg)
        if "*" in cors_origins:
            msg = "cors_origins='*' with credentials reflects every Origin; list the allowed origins explicitly"
            raise ValueError(msg)
        self.app = app
        self.request_id_header = request_id_header
        self.quiet_paths = frozenset(quiet_paths)
        self.logger = structlog.stdlib.get_logger(ACCESS_LOGGER)
        self.security_headers = dict(security_headers)
        self.hsts = hsts
        self._request_id_name = request_id_header.lower().encode("latin-1")

        # Precomputed once: what the common response (none of these headers set by the app) gets appended.
        self._security_http = _encoded(self.security_headers.items())
        https_extra = [("Strict-Transport-Security", hsts)] if hsts else []
        self._security_https = self._security_http + _encoded(https_extra)
        self._managed_names = {name for name, _ in self._security_https} | {self._request_id_name}

        # CORS: Starlette's middleware answers preflights; the simple-response headers are precomputed here.
        self.cors: CORSMiddleware | None = None
        self._cors_origins = frozenset(origin.encode("latin-1") for origin in cors_origins)
        if cors_origins:
            self.cors = CORSMiddleware(
                app,
                allow_origins=list(cors_origins),
                allow_credentials=True,
                allow_methods=CORS_ALLOW_METHODS,
                allow_headers=CORS_ALLOW_HEADERS,
                expose_headers=[request_id_header],
                max_age=CORS_MAX_AGE,
            )
            self._cors_headers = _encoded(self.cors.simple_headers.items())
            self._managed_names |= {name for name, _ in self._cors_headers}
            self._managed_names |= {b"access-control-allow-origin", b"vary"}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        # The one pass over the request headers: the first value of each, as Starlette's Headers.get() reads it.
        inbound_id: bytes | None = None
        origin: bytes | None = None
        cors_request_method = False
        for name, value in scope["headers"]:
            if name == self._request_id_name:
                inbound_id = value if inbound_id is None else inbound_id
            elif name == b"origin":
                origin = value if origin is None else origin
            elif name == b"access-control-request-method":
                cors_request_method = True

        # CORS preflight: answered before anything else runs, like CORSMiddleware as the outermost layer.
        if self.cors is not None and origin is not None and cors_request_method and scope["method"] == "OPTIONS":
            await self.cors(scope, receive, send)
            return

        # Request ID.
        request_id = accept_request_id(inbound_id.decode("latin-1") if inbound_id is not None else None)
        id_token = bind_request_id(scope, request_id)
        log_tokens = structlog.contextvars.bind_contextvars(request_id=request_id)

        # Access log: what the line needs, read before the app runs.
        start = time.perf_counter()
        client = scope.get("client")
        method, path, client_host = scope["method"], scope["path"], client[0] if client else None
        is_https = scope.get("scheme") == "https"
        status = 500
        response_started = False

        async def send_with_headers(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                status = message["status"]
                response_started = True
                message["headers"] = self._response_headers(message.get("headers", ()), request_id, origin, is_https)
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        except Exception as exc:
            # Before the response started, Starlette will answer 500; after, the client got a truncated response
            # with the status already sent. Same event as every other access line, at error level, with the
            # traceback; the note carries the ID into the server's own traceback, logged outside this context.
            self.logger.exception(
                "request",
                status=status if response_started else 500,
                duration_ms=_elapsed_ms(start),
                method=method,
                path=path,
                client=client_host,
            )
            exc.add_note(f"request_id: {request_id}")
            raise
        else:
            quiet = scope["path"] in self.quiet_paths and status < 400
            # The keys in the order the JSON line shows them.
            fields: dict[str, Any] = {
                "status": status,
                "duration_ms": _elapsed_ms(start),
                "method": method,
                "path": path,
                "client": client_host,
            }
            self._log_access(quiet, fields)
        finally:
            # Restores what was bound before (instead of wiping outer bindings, as clear_contextvars() would).
            structlog.contextvars.reset_contextvars(**log_tokens)
            unbind_request_id(id_token)

    def _response_headers(
        self, headers: Iterable[tuple[bytes, bytes]], request_id: str, origin: bytes | None, is_https: bool
    ) -> list[tuple[bytes, bytes]]:
        """The app's response headers plus ours: security headers, X-Request-ID, then CORS."""
        raw = list(headers)
        if not self._managed_names.isdisjoint([name for name, _ in raw]):
            return self._merge_into_app_headers(raw, request_id, origin, is_https)
        # The common case: the app set none of our headers, so each one is appended, in the order of the steps.
        raw += self._security_https if is_https else self._security_http
        raw.append((self._request_id_name, request_id.encode("latin-1")))
        if self.cors is not None:
            if origin is not None:
                raw += self._cors_headers  # CORSMiddleware sends these for any Origin, allowed or not
                if origin in self._cors_origins:
                    raw.append((b"access-control-allow-origin", origin))
            raw.append((b"vary", b"Origin"))  # also without an Origin: the response depends on its absence
        return raw

    def _merge_into_app_headers(
        self, raw: list[tuple[bytes, bytes]], request_id: str, origin: bytes | None, is_https: bool
    ) -> list[tuple[bytes, bytes]]:
        # The app set one of our headers: the same steps, through MutableHeaders' rules (an app's security header
        # is kept; X-Request-ID and the CORS headers replace the app's; Vary is extended).
        headers = MutableHeaders(raw=raw)
        for name, value in self.security_headers.items():
            headers.setdefault(name, value)
        if is_https and self.hsts:
            headers.setdefault("Strict-Transport-Security", self.hsts)
        headers[self.request_id_header] = request_id
        if self.cors is not None:
            if origin is not None:
                headers.update(self.cors.simple_headers)
                if origin in self._cors_origins:
                    headers["Access-Control-Allow-Origin"] = origin.decode("latin-1")
            headers.add_vary_header("Origin")
        return headers.raw

    def _log_access(self, quiet: bool, fields: dict[str, Any]) -> None:
        level = logging.DEBUG if quiet else logging.INFO
        output = json_lines()
        if output is not None:
            if level < output.level:
                return
            line = output.render("debug" if quiet else "info", ACCESS_LOGGER, "request", fields)
            if line is not None:
                output.write(line)
                return
        # Console logs, stdlib routing, or a value only structlog's processors know how to render.
        log = self.logger.debug if quiet else self.logger.info
        log("request", **fields)


def _elapsed_ms(start: float) -> float:
    return round((time.perf_counter() - start) * 1000, 2)


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
    A request that has no body (HTTP/1.x without ``Content-Length`` or ``Transfer-Encoding``) skips all of that.
    """

    def __init__(self, app: ASGIApp, max_body_size: int) -> None:
        if isinstance(max_body_size, bool) or not isinstance(max_body_size, int) or max_body_size < 0:
            msg = f"max_body_size must be a non-negative number of bytes, got {max_body_size!r}"
            raise ValueError(msg)
        self.max_body_size = max_body_size
        self.unlimited_app = app
        self.app = RequestBodyLimitMiddleware(_MarkResponseStart(app), max_body_size=max_body_size)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or _has_no_body(scope):
            # Nothing to count, and no limiter (this one or a route's) can refuse an empty body: most requests (GETs,
            # probes) skip the counting layers.
            await self.unlimited_app(scope, receive, send)
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


def _has_no_body(scope: Scope) -> bool:
    """An HTTP/1.x request with neither ``Content-Length`` nor ``Transfer-Encoding`` has no body (RFC 9112, 6.3)."""
    if scope.get("http_version") not in ("1.0", "1.1"):
        return False  # HTTP/2 and later frame a body without either header
    return not any(name in (b"content-length", b"transfer-encoding") for name, _ in scope["headers"])


def install_middleware(app: FastAPI, settings: Settings) -> None:
    """Install the stack in the right order (remember: the last ``add_middleware`` call is the outermost)."""
    app.add_middleware(BodyLimitMiddleware, max_body_size=settings.max_body_size)
    # CORS outermost within it, so preflights and error responses carry CORS headers. Settings refuses "*".
    app.add_middleware(
        ProductionMiddleware,
        cors_origins=settings.cors_origins,
        security_headers=SECURITY_HEADERS,
        request_id_header=REQUEST_ID_HEADER,
    )
    if settings.trusted_proxies:
        # Outside everything that reads the client address or the scheme (access log, HSTS, rate limits).
        # uvicorn applies the same middleware itself from --forwarded-allow-ips; running it twice with the same
        # trusted list is harmless (after the first pass the client is no longer a trusted proxy).
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.trusted_proxies)
