"""Area 4, error handling: one problem+json shape for every error, and no error silently dropped."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from production_fastapi.rules._apps import SERVICE_GATE, ServiceApp, service_apps
from production_fastapi.rules._helpers import keyword
from production_fastapi.rules.base import RuleDocs, Violation, file_rule, project_rule
from production_fastapi.rules.context import FileContext, ProjectContext

_FASTAPI_HTTP_EXCEPTION = frozenset({"fastapi.HTTPException", "fastapi.exceptions.HTTPException"})

#: What each required handler may be registered as (``500`` is Starlette's key for the catch-all handler).
_REQUIRED: dict[str, frozenset[str]] = {
    "Exception": frozenset({"builtins.Exception", "builtins.BaseException", "500"}),
    # Starlette's: the router raises it for 404/405, and FastAPI's own HTTPException derives from it.
    "HTTPException": frozenset({"starlette.exceptions.HTTPException"}),
    "RequestValidationError": frozenset(
        {"fastapi.exceptions.RequestValidationError", "fastapi.RequestValidationError"}
    ),
}


@project_rule(
    code="PF401",
    opt_in="house convention: problem+json bodies are one good choice; FastAPI's default error shapes are not a bug",
    name="missing-problem-handlers",
    severity="warning",
    message="app has no exception handlers for `Exception`, `HTTPException` and `RequestValidationError`",
    skill_section="Error handling",
    template="error_handlers.py",
    requires=SERVICE_GATE,
    docs=RuleDocs(
        what_it_does="Reports a `FastAPI()` app that registers no handler for one of `Exception`, `HTTPException` "
        "and `RequestValidationError`, following the app into project functions it is passed to "
        "(`install_error_handlers(app)`), and one that registers FastAPI's `HTTPException` instead of Starlette's "
        "(the router's own 404/405 then keep the default body). Silent when the app is handed to code it cannot "
        "read.",
        why="Without them a service answers in three shapes: `{\"detail\": ...}` for HTTP errors, a list of "
        "pydantic errors for validation, and a bare `Internal Server Error` text for crashes, with no request ID "
        "to find the log line. Clients and gateways need one machine-readable format (RFC 9457 "
        "`application/problem+json`) for every error, including the router's own 404 and 405.",
        example='''\
from fastapi import FastAPI

app = FastAPI(title="orders")


@app.get("/health/live")
async def live() -> dict[str, str]:
    return {"status": "ok"}
''',
        use_instead='''\
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

app = FastAPI(title="orders")


def problem(status: int, title: str) -> JSONResponse:
    body = {"type": "about:blank", "title": title, "status": status}
    return JSONResponse(body, status_code=status, media_type="application/problem+json")


@app.exception_handler(HTTPException)
async def on_http(request: Request, exc: HTTPException) -> JSONResponse:
    return problem(exc.status_code, "HTTP error")


@app.exception_handler(RequestValidationError)
async def on_validation(request: Request, exc: RequestValidationError) -> JSONResponse:
    return problem(422, "Validation failed")


@app.exception_handler(Exception)
async def on_crash(request: Request, exc: Exception) -> JSONResponse:
    return problem(500, "Internal Server Error")
''',
    ),
)
def missing_problem_handlers(project: ProjectContext) -> Iterator[Violation]:
    for app in service_apps(project):
        keys = _handled(app)
        if keys is None:
            continue
        missing = [name for name, wanted in _REQUIRED.items() if not (keys & wanted)]
        if missing == ["HTTPException"] and keys & _FASTAPI_HTTP_EXCEPTION:
            yield app.ctx.violation(app.call, "exception handler registered for FastAPI's `HTTPException` only: the "
                                    "router's own 404 and 405 raise Starlette's and keep the default body; register "
                                    "`starlette.exceptions.HTTPException`")
            continue
        if keys & _FASTAPI_HTTP_EXCEPTION:
            missing = [m for m in missing if m != "HTTPException"]
        if missing:
            listed = ", ".join(f"`{name}`" for name in missing)
            yield app.ctx.violation(app.call, f"app has no exception handler for {listed}: errors leave in "
                                    "FastAPI's default shapes, not problem+json")


def _handled(app: ServiceApp) -> set[str] | None:
    """What the app has handlers for (qualified names, or status codes as text); None when it can't be known."""
    keys: set[str] = set()
    for call in app.registrations("exception_handler", "add_exception_handler"):
        if not call.args:
            return None
        keys.add(_key(app, call.args[0], call))
    for call in app.registrations("constructor:exception_handlers"):
        handlers = keyword(call, "exception_handlers")
        if not isinstance(handlers, ast.Dict) or any(k is None for k in handlers.keys):
            return None
        keys.update(_key(app, k, call) for k in handlers.keys if k is not None)
    return keys


def _key(app: ServiceApp, node: ast.expr, call: ast.Call) -> str:
    if isinstance(node, ast.Constant) and isinstance(node.value, int):
        return str(node.value)
    for registration in app.graph.registrations(app.node):
        if registration.call is call:
            return registration.file.qualified_name(node) or "?"
    return "?"


# --- PF402 ----------------------------------------------------------------------------------------------------

_BROAD = frozenset({"builtins.Exception", "builtins.BaseException"})


def _is_broad(ctx: FileContext, handler: ast.ExceptHandler) -> bool:
    if handler.type is None:
        return True
    types = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
    return any(ctx.qualified_name(t) in _BROAD for t in types)


def _does_nothing(body: list[ast.stmt]) -> bool:
    for statement in body:
        if isinstance(statement, (ast.Pass, ast.Continue)):
            continue
        if isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant):
            continue  # `...` or a docstring-like note
        return False
    return True


def _raises(body: list[ast.stmt]) -> bool:
    return any(isinstance(node, ast.Raise) for statement in body for node in ast.walk(statement))


@file_rule(
    code="PF402",
    opt_in="a broad `except` is often deliberate (best-effort cleanup, an optional feature): judging it needs intent",
    name="swallowed-exception",
    severity="warning",
    message="exception swallowed: log it or let it reach the error handler",
    skill_section="Error handling",
    template="error_handlers.py",
    requires=("fastapi", "starlette"),
    docs=RuleDocs(
        what_it_does="Inside functions of a FastAPI/Starlette module, flags `except Exception:` / `except "
        "BaseException:` / bare `except:` whose body does nothing (`pass`, `...`, `continue`), and a bare "
        "`except:` in an `async def` that does not re-raise.",
        why="A swallowed exception is an outage nobody sees: the request \"succeeds\", the data is wrong, and "
        "there is no log line or error metric to start from. A bare `except:` in async code also catches "
        "`asyncio.CancelledError`, so a cancelled request or a shutting-down server keeps running the handler.",
        example='''\
from fastapi import FastAPI

from app.audit import record

app = FastAPI()


@app.post("/orders")
async def create_order(sku: str) -> dict[str, str]:
    try:
        await record("order", sku)
    except Exception:
        pass
    return {"sku": sku}
''',
        use_instead='''\
import structlog
from fastapi import FastAPI

from app.audit import record

app = FastAPI()
logger = structlog.get_logger()


@app.post("/orders")
async def create_order(sku: str) -> dict[str, str]:
    try:
        await record("order", sku)
    except Exception:
        logger.exception("audit_record_failed", sku=sku)
    return {"sku": sku}
''',
    ),
)
def swallowed_exception(ctx: FileContext) -> Iterator[Violation]:
    for handler in ctx.nodes(ast.ExceptHandler):
        function = ctx.enclosing_function(handler)
        if function is None or not _is_broad(ctx, handler):
            continue
        if _does_nothing(handler.body):
            yield ctx.violation(handler, end_node=handler.type or handler)
        elif handler.type is None and isinstance(function, ast.AsyncFunctionDef) and not _raises(handler.body):
            yield ctx.violation(
                handler,
                "bare `except:` in `async def` swallows cancellation: catch `Exception` and log it",
                end_node=handler,
            )
