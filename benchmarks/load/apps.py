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
    from templates.main import create_app

    from templates.settings import Settings

    # Production-like: JSON logs at INFO (one access line per request), the benchmark's origin allowed.
    settings = Settings(environment="production", log_level="INFO", cors_origins=[ORIGIN])
    return create_app(settings, routers=[bench_router()])


def basehttp() -> FastAPI:
    from benchmarks.load.basehttp_stack import create_basehttp_app

    return create_basehttp_app(bench_router())
