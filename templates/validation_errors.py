"""Validation errors (422) that keep FastAPI's ``{"detail": [...]}`` shape but never echo what the client sent.

Rules: PF005

Adopt: copy this one file next to your app (it imports nothing of the other templates) and call
``install_safe_validation_errors(app)`` after creating the app. It replaces FastAPI's default 422 handler, whose
body repeats each error's ``input``: the rejected password, token or card number, or for a missing field the whole
submitted object. Error bodies land in client logs, proxy logs and bug reports, so that echo leaks secrets.

The body stays what clients already parse: ``{"detail": [{"loc": [...], "msg": "...", "type": "..."}]}`` with the
same status, ``loc``, ``msg`` and ``type`` as before. Dropped: ``input``, ``ctx`` (its values can be parts of the
input, such as the offending text of a JSON decode error) and ``url`` (FastAPI already leaves it out; it would name
the pydantic version). A service on the house problem+json format gets the same redaction from
``error_handlers.install_error_handlers`` instead; don't install both.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

__all__ = ["install_safe_validation_errors", "safe_errors", "safe_validation_error_handler"]


def safe_errors(errors: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Each error reduced to where it is (``loc``), what is wrong (``msg``) and its machine code (``type``)."""
    return [
        {"loc": list(error.get("loc", ())), "msg": str(error.get("msg", "")), "type": str(error.get("type", ""))}
        for error in errors
    ]


async def safe_validation_error_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return JSONResponse({"detail": safe_errors(exc.errors())}, status_code=422)


def install_safe_validation_errors(app: FastAPI) -> None:
    """Answer every request validation error with the redacted body (replaces any handler set before)."""
    app.add_exception_handler(RequestValidationError, safe_validation_error_handler)
