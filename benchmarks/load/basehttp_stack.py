"""The production stack written the common way, with ``BaseHTTPMiddleware``: the benchmark's slow baseline.

Same behaviour as templates/middleware.py where it costs (request ID validated, bound into structlog's context and
echoed once; one JSON access line with the same fields; the same security headers; a declared-length body limit;
Starlette's CORS outermost; the templates' logging configuration and problem+json handlers), so the only difference
measured is how the middleware is written. The body limit here only checks ``Content-Length``, less work than ours,
which counts streamed bodies too: if anything, the comparison flatters this stack.
"""

from __future__ import annotations

import time

import structlog
from fastapi import APIRouter, FastAPI, Request, Response
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.middleware.cors import CORSMiddleware

from benchmarks.load.apps import ORIGIN
from templates.error_handlers import install_error_handlers, problem_response
from templates.logging_config import configure_logging
from templates.request_context import REQUEST_ID_HEADER, accept_request_id, bind_request_id, unbind_request_id

MAX_BODY_SIZE = 1_048_576
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Content-Security-Policy": "frame-ancestors 'none'",
}


class RequestID(BaseHTTPMiddleware):
    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        request_id = accept_request_id(request.headers.get(REQUEST_ID_HEADER))
        token = bind_request_id(request.scope, request_id)
        try:
            with structlog.contextvars.bound_contextvars(request_id=request_id):
                response = await call_next(request)
        finally:
            unbind_request_id(token)
        response.headers[REQUEST_ID_HEADER] = request_id
        return response


class AccessLog(BaseHTTPMiddleware):
    logger = structlog.stdlib.get_logger("app.access")

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        start = time.perf_counter()
        response = await call_next(request)
        self.logger.info(
            "request",
            status=response.status_code,
            duration_ms=round((time.perf_counter() - start) * 1000, 2),
            method=request.method,
            path=request.url.path,
            client=request.client.host if request.client else None,
        )
        return response


class SecurityHeaders(BaseHTTPMiddleware):
    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        response = await call_next(request)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response


class BodyLimit(BaseHTTPMiddleware):
    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > MAX_BODY_SIZE:
            return problem_response(status=413, scope_path=request.url.path, request_id=None, detail="Too large.")
        return await call_next(request)


def create_basehttp_app(router: APIRouter) -> FastAPI:
    configure_logging(level="INFO", json_logs=True)
    app = FastAPI()
    app.include_router(router)
    install_error_handlers(app)
    app.add_middleware(BodyLimit)
    app.add_middleware(SecurityHeaders)
    app.add_middleware(AccessLog)
    app.add_middleware(RequestID)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=[ORIGIN],
        allow_credentials=True,
        allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
        allow_headers=["Authorization", "Content-Type", REQUEST_ID_HEADER],
        expose_headers=[REQUEST_ID_HEADER],
        max_age=600,
    )
    return app
