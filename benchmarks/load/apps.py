"""App factories for the middleware benchmark; uvicorn loads them with ``--factory``.

- ``bare``: FastAPI with the two endpoints and nothing else.
- ``ours``: the full production stack from templates/ (``create_app``: request ID, JSON access log, security headers,
  body limit, CORS, problem+json handlers), with the endpoints mounted as an extra router.
- ``basehttp``: the same stack with request ID, access log, security headers and body limit written as
  ``BaseHTTPMiddleware`` subclasses (same log fields, same headers, same logging configuration and handlers), CORS
  from Starlette: what an agent typically writes from the seed document.
- ``reference``: asgi-correlation-id plus Starlette's CORSMiddleware, a well-kept third-party point of comparison.
"""

from __future__ import annotations

from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware

from benchmarks.load.endpoints import bench_router

# Every stack allows the same browser origin, and wrk sends it, so CORS does real work in each run.
ORIGIN = "https://app.example.com"


def bare() -> FastAPI:
    app = FastAPI()
    app.include_router(bench_router())
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


def basehttp() -> FastAPI:
    from benchmarks.load.basehttp_stack import create_basehttp_app

    return create_basehttp_app(bench_router())


# The layers of our stack in install_middleware's order, innermost first; ``layered`` adds a prefix of them.
LAYERS = ("errors", "body-limit", "security-headers", "access-log", "request-id", "cors")


def layered() -> FastAPI:
    """Bare FastAPI plus the first ``PF_BENCH_LAYERS`` (a count) of our stack's layers: the cost breakdown."""
    import os

    from starlette.middleware.cors import CORSMiddleware as StarletteCORS

    from templates import middleware
    from templates.error_handlers import install_error_handlers
    from templates.logging_config import configure_logging
    from templates.request_context import REQUEST_ID_HEADER

    count = int(os.environ.get("PF_BENCH_LAYERS", str(len(LAYERS))))
    wanted = LAYERS[:count]
    configure_logging(level="INFO", json_logs=True)
    app = FastAPI()
    app.include_router(bench_router())
    if "errors" in wanted:
        install_error_handlers(app)
    if "body-limit" in wanted:
        app.add_middleware(middleware.BodyLimitMiddleware, max_body_size=1_048_576)
    if "security-headers" in wanted:
        app.add_middleware(middleware.SecurityHeadersMiddleware)
    if "access-log" in wanted:
        app.add_middleware(middleware.AccessLogMiddleware)
    if "request-id" in wanted:
        app.add_middleware(middleware.RequestIDMiddleware)
    if "cors" in wanted:
        # The same options install_middleware passes.
        app.add_middleware(
            StarletteCORS,
            allow_origins=[ORIGIN],
            allow_credentials=True,
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
            allow_headers=["Authorization", "Content-Type", REQUEST_ID_HEADER],
            expose_headers=[REQUEST_ID_HEADER],
            max_age=600,
        )
    return app
