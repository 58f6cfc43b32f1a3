"""RFC 9457 problem details (application/problem+json) for every error the service returns, never leaking internals.

Rules: PF005, PF401, PF402, PF903

Adopt: call ``install_error_handlers(app)`` in ``create_app``. Raise ``AppError`` (or a subclass naming its own
``status_code``, ``title`` and ``type``) for errors your API means to return; raise ``HTTPException`` where you
prefer FastAPI's. Every body carries ``type``, ``title``, ``status``, ``detail``, ``instance`` (the path, never the
query string, which may hold tokens) and ``request_id``.

Validation errors (422) list each error's ``loc``, ``msg`` and ``type`` and deliberately drop pydantic's ``input``
and ``ctx``: the input can be a password or a token, and error responses are logged and cached by proxies.
Unhandled exceptions answer a generic 500; the traceback goes to the log (the access line of
``middleware.ProductionMiddleware``), never to the client. The 500 carries ``Connection: close``: Starlette
re-raises the exception after sending it, and uvicorn then closes the connection, so the header tells clients and
proxies not to send another request on it.

A dependency that is down is not a bug: the exception types passed as ``unavailable=`` answer 503 with
``Retry-After`` (``create_app`` passes ``database.DATABASE_UNAVAILABLE``: SQLAlchemy's connection and pool errors,
and the refused, reset and timed-out connections asyncpg raises unwrapped). Being handled, they also keep the
client's keep-alive connection open, where an unhandled one costs the connection (behind a proxy with upstream
keep-alive, an unrelated request's 502). ``is_outage=`` narrows those types where one exception class covers both
an outage and a bug: SQLite reports a locked file and a missing table alike as ``OperationalError``, and a missing
table is a bug (the migrations were not applied), answered 500 and logged as ``unhandled_error``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from functools import partial
from http import HTTPStatus
from typing import Any, ClassVar

import structlog
from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from .request_context import REQUEST_ID_HEADER, request_id_from_scope

PROBLEM_MEDIA_TYPE = "application/problem+json"
# Seconds a client should wait before retrying after a 503 for an unavailable dependency: long enough for a pool to
# reconnect or a failover to finish, short enough that a blip costs the caller little.
UNAVAILABLE_RETRY_AFTER = 5

logger = structlog.stdlib.get_logger(__name__)

if not structlog.is_configured():
    # Copied without logging_config.py: structlog's default console renderer prints tracebacks through rich with
    # every frame's local variables (a DSN's password, a bearer token). Plain tracebacks until the app configures
    # logging, which replaces this.
    structlog.configure(
        processors=[
            *structlog.get_config()["processors"][:-1],
            structlog.dev.ConsoleRenderer(exception_formatter=structlog.dev.plain_traceback),
        ]
    )


class ProblemResponse(JSONResponse):
    media_type = PROBLEM_MEDIA_TYPE


class AppError(Exception):
    """An error the API returns on purpose; subclass it per kind of error and raise it from anywhere in a request.

    ``detail`` is sent to the client as written: put only what the caller may see in it.
    """

    status_code: ClassVar[int] = 400
    title: ClassVar[str | None] = None  # None: the status phrase ("Bad Request")
    type: ClassVar[str] = "about:blank"

    def __init__(
        self,
        detail: str,
        *,
        status_code: int | None = None,
        headers: Mapping[str, str] | None = None,
        extensions: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.status = status_code if status_code is not None else self.status_code
        if not 400 <= self.status <= 599:
            msg = f"AppError status must be an HTTP error status (400-599), got {self.status}"
            raise ValueError(msg)
        self.headers = dict(headers or {})
        self.extensions = dict(extensions or {})


# RFC 9110 renamed these; Python's HTTPStatus (before 3.13) still has the old phrases.
_RFC_9110_TITLES = {413: "Content Too Large", 422: "Unprocessable Content"}


def _phrase(status: int) -> str:
    if status in _RFC_9110_TITLES:
        return _RFC_9110_TITLES[status]
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def problem_response(
    *,
    status: int,
    scope_path: str,
    request_id: str | None,
    detail: str,
    title: str | None = None,
    type_: str = "about:blank",
    headers: Mapping[str, str] | None = None,
    extensions: Mapping[str, Any] | None = None,
) -> ProblemResponse:
    """Build one problem+json response; the single place the body's shape is decided."""
    body: dict[str, Any] = {
        "type": type_,
        "title": title or _phrase(status),
        "status": status,
        "detail": detail,
        "instance": scope_path,
        "request_id": request_id,
    }
    if extensions:
        # Extensions never overwrite the standard members.
        body.update({key: value for key, value in extensions.items() if key not in body})
    response_headers = dict(headers or {})
    # The 500 response is sent outside every user middleware, ProductionMiddleware (security headers) included.
    response_headers.setdefault("X-Content-Type-Options", "nosniff")
    if request_id is not None:
        response_headers[REQUEST_ID_HEADER] = request_id
    return ProblemResponse(jsonable_encoder(body), status_code=status, headers=response_headers)


def _from_request(request: Request, **kwargs: Any) -> ProblemResponse:
    # request.url.path is the path alone: the query string may carry tokens and must not be echoed.
    return problem_response(scope_path=request.url.path, request_id=request_id_from_scope(request.scope), **kwargs)


async def app_error_handler(request: Request, exc: Exception) -> ProblemResponse:
    assert isinstance(exc, AppError)
    return _from_request(
        request,
        status=exc.status,
        detail=exc.detail,
        title=exc.title,
        type_=exc.type,
        headers=exc.headers,
        extensions=exc.extensions,
    )


async def http_exception_handler(request: Request, exc: Exception) -> ProblemResponse:
    # Registered for Starlette's HTTPException so the router's own 404 and 405 get the same shape.
    assert isinstance(exc, StarletteHTTPException)
    extensions: dict[str, Any] = {}
    # Starlette types detail as str, but FastAPI's subclass accepts any JSON-able value.
    raw_detail: object = exc.detail
    if isinstance(raw_detail, str):
        detail = raw_detail
    else:
        # HTTPException(detail={...}) is the application's own choice of payload: keep it, as a member.
        detail = _phrase(exc.status_code)
        extensions["errors"] = raw_detail
    return _from_request(request, status=exc.status_code, detail=detail, headers=exc.headers, extensions=extensions)


async def validation_error_handler(request: Request, exc: Exception) -> ProblemResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {"loc": list(error.get("loc", ())), "msg": str(error.get("msg", "")), "type": str(error.get("type", ""))}
        for error in exc.errors()
    ]
    return _from_request(
        request,
        status=422,
        detail="The request is not valid; see errors.",
        extensions={"errors": errors},
    )


async def dependency_unavailable_handler(request: Request, exc: Exception) -> ProblemResponse:
    # Handled inside the middleware stack, so the access line (ProductionMiddleware) sees a 503 and no exception:
    # the cause is logged here, with its traceback and (through structlog's context) the request ID. The client
    # learns only to retry.
    logger.warning("dependency_unavailable", error_type=type(exc).__name__, exc_info=exc)
    return _from_request(
        request,
        status=503,
        detail="A service this request depends on is unavailable; try again shortly.",
        headers={"Retry-After": str(UNAVAILABLE_RETRY_AFTER)},
    )


async def _unavailable_if_outage(
    is_outage: Callable[[Exception], bool], request: Request, exc: Exception
) -> ProblemResponse:
    if is_outage(exc):
        return await dependency_unavailable_handler(request, exc)
    # A bug that shares its exception type with an outage. Handled here, so nothing re-raises it: log its traceback
    # (the access line sees only the 500) and keep the connection, unlike an unhandled 500.
    logger.error("unhandled_error", error_type=type(exc).__name__, exc_info=exc)
    return _from_request(request, status=500, detail="An unexpected error occurred.")


async def unhandled_error_handler(request: Request, exc: Exception) -> ProblemResponse:
    # Starlette calls this from ServerErrorMiddleware, outside every user middleware: nothing wraps this response,
    # so it sets X-Request-ID itself (problem_response does) from the ID the middleware left in scope["state"].
    # The exception text is never sent; ProductionMiddleware has already logged it with its traceback.
    # Connection: close because Starlette re-raises after this response and uvicorn then drops the connection:
    # without the header a client reusing it races the close and fails a request that has nothing to do with this.
    return _from_request(request, status=500, detail="An unexpected error occurred.", headers={"Connection": "close"})


def install_error_handlers(
    app: FastAPI,
    *,
    unavailable: Iterable[type[Exception]] = (),
    is_outage: Callable[[Exception], bool] | None = None,
) -> None:
    """Register the problem+json handlers on ``app``; ``unavailable`` adds exception types that mean 503, and
    ``is_outage`` (when given) decides per exception of those types whether it is an outage (503) or a bug (500)."""
    unavailable_handler = (
        dependency_unavailable_handler if is_outage is None else partial(_unavailable_if_outage, is_outage)
    )
    app.add_exception_handler(AppError, app_error_handler)
    app.add_exception_handler(StarletteHTTPException, http_exception_handler)
    app.add_exception_handler(RequestValidationError, validation_error_handler)
    for exc_type in unavailable:
        # Checked at runtime too: an instance or a tuple passed here would otherwise fail only at the first error.
        candidate: object = exc_type
        if not (isinstance(candidate, type) and issubclass(candidate, Exception)):
            msg = f"unavailable= takes exception classes, got {candidate!r}"
            raise TypeError(msg)
        app.add_exception_handler(candidate, unavailable_handler)
    app.add_exception_handler(Exception, unhandled_error_handler)
