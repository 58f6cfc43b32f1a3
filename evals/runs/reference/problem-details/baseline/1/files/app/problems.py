from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse


def _problem(status: int, title: str, detail: str) -> JSONResponse:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail}
    return JSONResponse(body, status_code=status, media_type="application/problem+json")


async def on_http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    return _problem(exc.status_code, "Request failed", str(exc.detail))


async def on_validation_error(request: Request, exc: Exception) -> JSONResponse:
    return _problem(422, "Invalid input", "the request body or parameters are invalid")


async def on_crash(request: Request, exc: Exception) -> JSONResponse:
    return _problem(500, "Internal Server Error", "an unexpected error occurred")


def install(app: FastAPI) -> None:
    app.add_exception_handler(HTTPException, on_http_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(Exception, on_crash)
