"""App factories for the middleware benchmark; uvicorn loads them with ``--factory``.

- ``bare``: FastAPI with the two endpoints and nothing else.
- ``ours``: the full production stack from templates/ (``create_app``: request ID, JSON access log, security headers,
  body limit, CORS, problem+json handlers), with the endpoints mounted as an extra router.
- ``basehttp``: the same stack with request ID, access log, security headers and body limit written as
  ``BaseHTTPMiddleware`` subclasses (same log fields, same headers, same logging configuration and handlers), CORS
  from Starlette: what an agent typically writes from the seed document.
- ``reference``: asgi-correlation-id plus Starlette's CORSMiddleware, a well-kept third-party point of comparison.
- ``bare_headers``: bare FastAPI plus the response headers our stack sends, appended by one minimal layer.
- ``ours_unfrozen`` / ``ours_frozen_only``: ``ours`` without what the lifespan template does to the garbage
  collector at the end of startup (``gc.freeze()`` and higher thresholds); the second freezes but keeps CPython's
  default thresholds. They show what each part is worth.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext

from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from benchmarks.load.endpoints import bench_router

# Every stack allows the same browser origin, and wrk sends it, so CORS does real work in each run.
ORIGIN = "https://app.example.com"


def bare() -> FastAPI:
    app = FastAPI()
    app.include_router(bench_router())
    return app


# What our stack adds to a response to wrk's request (Origin allowed, plain http): security headers, X-Request-ID
# (a fixed one here) and CORS. uvicorn checks and encodes every response header in Python, so they cost the server
# CPU however they are added.
_OUR_RESPONSE_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"content-security-policy", b"frame-ancestors 'none'"),
    (b"x-request-id", b"0123456789abcdef0123456789abcdef"),
    (b"access-control-allow-credentials", b"true"),
    (b"access-control-expose-headers", b"X-Request-ID"),
    (b"access-control-allow-origin", ORIGIN.encode()),
    (b"vary", b"Origin"),
]


class _AppendHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), *_OUR_RESPONSE_HEADERS]
            await send(message)

        await self.app(scope, receive, send_with_headers)


def bare_headers() -> FastAPI:
    """Bare FastAPI sending our stack's response headers (one minimal layer appends them): their cost in uvicorn."""
    app = bare()
    app.add_middleware(_AppendHeaders)
    return app


def reference() -> FastAPI:
    from asgi_correlation_id import CorrelationIdMiddleware

    app = FastAPI()
    app.include_router(bench_router())
    app.add_middleware(CorrelationIdMiddleware)
    app.add_middleware(CORSMiddleware, allow_origins=[ORIGIN], allow_methods=["GET", "POST"])  # last added: outermost
    return app


def ours() -> FastAPI:
    from pydantic import SecretStr

    from templates.main import create_app
    from templates.settings import Settings

    # Production-like: JSON logs at INFO (one access line per request), the benchmark's origin allowed.
    # The endpoints never touch the database; an in-memory URL keeps the run from creating files.
    settings = Settings(
        environment="production",
        log_level="INFO",
        cors_origins=[ORIGIN],
        database_url=SecretStr("sqlite+aiosqlite:///:memory:"),
    )
    return create_app(settings, routers=[bench_router()])


def _ours_with_gc_step(step: Callable[[], AbstractContextManager[None]]) -> FastAPI:
    """``ours`` with the lifespan's garbage-collector step replaced (the lifespan looks it up at startup)."""
    from templates import lifespan

    lifespan.frozen_startup_heap = step  # type: ignore[assignment]
    return ours()


@contextmanager
def _freeze_only() -> Iterator[None]:
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def ours_unfrozen() -> FastAPI:
    return _ours_with_gc_step(nullcontext)


def ours_frozen_only() -> FastAPI:
    return _ours_with_gc_step(_freeze_only)


def basehttp() -> FastAPI:
    from benchmarks.load.basehttp_stack import create_basehttp_app

    return create_basehttp_app(bench_router())


# The layers of our stack in install_middleware's order, innermost first; ``layered`` adds a prefix of them.
LAYERS = ("errors", "body-limit", "production-middleware", "cors-origins")


def layered() -> FastAPI:
    """Bare FastAPI plus the first ``PF_BENCH_LAYERS`` (a count) of our stack's layers: the cost breakdown."""
    import os

    from templates import middleware
    from templates.error_handlers import install_error_handlers
    from templates.logging_config import configure_logging

    count = int(os.environ.get("PF_BENCH_LAYERS", str(len(LAYERS))))
    wanted = LAYERS[:count]
    configure_logging(level="INFO", json_logs=True)
    app = FastAPI()
    app.include_router(bench_router())
    if "errors" in wanted:
        install_error_handlers(app)
    if "body-limit" in wanted:
        app.add_middleware(middleware.BodyLimitMiddleware, max_body_size=1_048_576)
    if "production-middleware" in wanted:
        # Request ID, access log, security headers; CORS only once its origins are given (the next step).
        origins = [ORIGIN] if "cors-origins" in wanted else []
        app.add_middleware(middleware.ProductionMiddleware, cors_origins=origins)
    return app
