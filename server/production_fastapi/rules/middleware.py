"""Area 5, middleware and CORS: pure ASGI middleware, safe CORS, and an order that matches the onion."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass

from production_fastapi.rules._apps import SERVICE_GATE, mentions_name, service_apps
from production_fastapi.rules._helpers import dotted, is_true, keyword, literal_strings, string_value
from production_fastapi.rules.base import RuleDocs, Violation, file_rule, project_rule
from production_fastapi.rules.context import FileContext, ProjectContext

_BASE_HTTP = frozenset({"starlette.middleware.base.BaseHTTPMiddleware"})
_CORS = frozenset({"starlette.middleware.cors.CORSMiddleware", "fastapi.middleware.cors.CORSMiddleware"})
_MIDDLEWARE_ENTRY = frozenset({"starlette.middleware.Middleware", "fastapi.middleware.Middleware"})


def _middleware_class(ctx: FileContext, call: ast.Call) -> ast.expr | None:
    """The class of ``app.add_middleware(Cls, ...)`` or ``Middleware(Cls, ...)``; None for other calls."""
    func = call.func
    is_add = isinstance(func, ast.Attribute) and func.attr == "add_middleware"
    if (is_add or ctx.qualified_name(func) in _MIDDLEWARE_ENTRY) and call.args:
        return call.args[0]
    return None


# --- PF501 ----------------------------------------------------------------------------------------------------


@file_rule(
    code="PF501",
    opt_in="`@app.middleware(\"http\")` and `BaseHTTPMiddleware` are FastAPI's documented way and work; the costs are "
    "situational",
    name="base-http-middleware",
    severity="warning",
    message="`BaseHTTPMiddleware`: write the middleware as a pure ASGI class",
    skill_section="Middleware and CORS",
    template="middleware.py",
    requires=("fastapi", "starlette"),
    docs=RuleDocs(
        what_it_does="Flags subclasses of Starlette's `BaseHTTPMiddleware`, `@app.middleware(\"http\")` functions "
        "(which FastAPI wraps in one) and `add_middleware(BaseHTTPMiddleware, dispatch=...)`.",
        why="`BaseHTTPMiddleware` runs the rest of the app in a separate task: context variables set further in "
        "(request-scoped log context, tracing spans) don't come back out, it costs measurable throughput on every "
        "request, and the request/response wrappers get in the way of streaming and background work. A pure "
        "ASGI class that wraps `send` does the same job with none of that.",
        example='''\
from fastapi import FastAPI, Request
from starlette.middleware.base import RequestResponseEndpoint
from starlette.responses import Response

app = FastAPI()


@app.middleware("http")
async def add_version(request: Request, call_next: RequestResponseEndpoint) -> Response:
    response = await call_next(request)
    response.headers["X-Version"] = "1"
    return response
''',
        use_instead='''\
from fastapi import FastAPI
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class VersionHeaderMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_version(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)["X-Version"] = "1"
            await send(message)

        await self.app(scope, receive, send_with_version)


app = FastAPI()
app.add_middleware(VersionHeaderMiddleware)
''',
    ),
)
def base_http_middleware(ctx: FileContext) -> Iterator[Violation]:
    for cls in ctx.nodes(ast.ClassDef):
        if any(ctx.qualified_name(base) in _BASE_HTTP for base in cls.bases):
            yield ctx.violation(cls, f"`{cls.name}` subclasses `BaseHTTPMiddleware`: write it as a pure ASGI class",
                                end_node=cls.bases[-1])
    for call in ctx.nodes(ast.Call):
        func = call.func
        if (
            isinstance(func, ast.Attribute)
            and func.attr == "middleware"
            and call.args
            and string_value(call.args[0]) == "http"
            and isinstance(ctx.parent(call), (ast.FunctionDef, ast.AsyncFunctionDef))
        ):
            yield ctx.violation(call, "`@middleware(\"http\")` runs as `BaseHTTPMiddleware`: write a pure ASGI class")
            continue
        cls_expr = _middleware_class(ctx, call)
        if cls_expr is not None and ctx.qualified_name(cls_expr) in _BASE_HTTP:
            yield ctx.violation(call)


# --- PF502 ----------------------------------------------------------------------------------------------------

_PROBE_ORIGINS = ("https://attacker.example", "http://evil.test:8080", "null")


def _regex_matches_anything(pattern: str) -> bool:
    try:
        compiled = re.compile(pattern)
    except re.error:
        return False
    return all(compiled.fullmatch(origin) for origin in _PROBE_ORIGINS[:2])


def _cors_call_kwargs(ctx: FileContext, call: ast.Call) -> bool:
    """Whether the call configures Starlette's CORS middleware."""
    cls_expr = _middleware_class(ctx, call)
    if cls_expr is not None:
        return ctx.qualified_name(cls_expr) in _CORS
    return ctx.qualified_name(call.func) in _CORS


@file_rule(
    code="PF502",
    opt_in="needs the auth scheme: the hole is open only where browsers attach credentials (cookies, HTTP auth)",
    name="cors-wildcard-with-credentials",
    severity="error",
    message="CORS allows any origin with credentials: every website can act as the logged-in user",
    skill_section="Middleware and CORS",
    template="middleware.py",
    requires=("fastapi", "starlette"),
    docs=RuleDocs(
        what_it_does="Flags `CORSMiddleware` configured with `allow_credentials=True` together with "
        "`allow_origins=[\"*\"]` or an `allow_origin_regex` that matches any origin (such as `.*` or "
        "`https?://.*`).",
        why="Starlette does not refuse this combination: it answers a credentialed request by echoing the "
        "caller's `Origin` back with `Access-Control-Allow-Credentials: true`. Any page a user visits can then "
        "call the API with the user's cookies and read the responses: account data, tokens, CSRF-protected "
        "actions. List the front-ends' origins instead.",
        example='''\
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

app = FastAPI()
app.add_middleware(CORSMiddleware, allow_origins=["*"], allow_credentials=True)
''',
        use_instead='''\
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

app = FastAPI()
app.add_middleware(CORSMiddleware, allow_origins=["https://app.example.com"], allow_credentials=True)
''',
    ),
)
def cors_wildcard_with_credentials(ctx: FileContext) -> Iterator[Violation]:
    if not ctx.mentions("CORSMiddleware"):
        return
    for call in ctx.nodes(ast.Call):
        if not _cors_call_kwargs(ctx, call) or not is_true(keyword(call, "allow_credentials")):
            continue
        origins = literal_strings(keyword(call, "allow_origins"))
        regex = string_value(keyword(call, "allow_origin_regex"))
        if (origins is not None and "*" in origins) or (regex is not None and _regex_matches_anything(regex)):
            yield ctx.violation(call)


# --- PF503 ----------------------------------------------------------------------------------------------------

#: Middleware that answers some requests itself (413, 429, 401...): outside CORS, those answers lack CORS headers.
_SHORT_CIRCUIT_WORDS = ("ratelimit", "rate_limit", "throttl", "bodylimit", "body_limit", "bodysize", "sizelimit",
                        "maxbody", "auth", "apikey", "api_key", "timeout", "csrf", "ipfilter", "allowlist")
_REQUEST_ID_WORDS = ("requestid", "request_id", "correlationid", "correlation_id")
_LOGGING_WORDS = ("logging", "accesslog", "access_log", "requestlog", "request_log")


@dataclass(frozen=True, slots=True)
class _Entry:
    call: ast.Call
    name: str  # the class's spelling, lower-cased, for word matching
    cors: bool


def _entry(ctx: FileContext, call: ast.Call) -> _Entry | None:
    cls_expr = _middleware_class(ctx, call)
    if cls_expr is None:
        return None
    spelled = ctx.qualified_name(cls_expr) or dotted(cls_expr) or ""
    return _Entry(call, spelled.rpartition(".")[2].lower(), ctx.qualified_name(cls_expr) in _CORS
                  or spelled.endswith("CORSMiddleware"))


def _has(entry: _Entry, words: tuple[str, ...]) -> bool:
    return any(word in entry.name for word in words)


def _order_problems(outer_first: list[_Entry]) -> Iterator[tuple[ast.Call, str]]:
    """Check one stack listed from the outermost middleware inwards."""
    for index, entry in enumerate(outer_first):
        outside = outer_first[:index]
        if entry.cors:
            blockers = [o for o in outside if _has(o, _SHORT_CIRCUIT_WORDS)]
            if blockers:
                yield entry.call, (
                    f"CORS runs inside `{blockers[0].name}`: the responses it sends itself carry no CORS headers, "
                    "so browsers report a CORS error instead of the status; add CORS last (outermost)"
                )
        if _has(entry, _REQUEST_ID_WORDS):
            loggers = [o for o in outside if _has(o, _LOGGING_WORDS)]
            if loggers:
                yield entry.call, (
                    f"request-ID middleware runs inside `{loggers[0].name}`: access logs miss the request ID; "
                    "add it after the logging middleware (the last added is outermost)"
                )


@file_rule(
    code="PF503",
    name="middleware-order",
    severity="warning",
    message="middleware order: the last one added is the outermost",
    skill_section="Middleware and CORS",
    template="middleware.py",
    requires=("fastapi", "starlette"),
    docs=RuleDocs(
        what_it_does="Reads the order of `add_middleware` calls on one app (and of a `middleware=[...]` list) and "
        "flags CORS placed inside a middleware that answers requests itself (rate limiting, body-size limits, "
        "authentication), and a request-ID middleware placed inside the access-log middleware.",
        why="Starlette's `add_middleware` inserts at the front: the last one added runs first. Written in the "
        "intuitive order, a 429 or 413 sent by the outer middleware never passes through CORS, so the browser "
        "hides the status behind a CORS error and preflight requests get rejected; and the access log runs before "
        "the request ID exists, so no log line can be matched to a request.",
        example='''\
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from starlette.middleware.body_limit import RequestBodyLimitMiddleware

app = FastAPI()
app.add_middleware(CORSMiddleware, allow_origins=["https://app.example.com"])
app.add_middleware(RequestBodyLimitMiddleware, max_body_size=1_048_576)
''',
        use_instead='''\
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from starlette.middleware.body_limit import RequestBodyLimitMiddleware

app = FastAPI()
app.add_middleware(RequestBodyLimitMiddleware, max_body_size=1_048_576)
app.add_middleware(CORSMiddleware, allow_origins=["https://app.example.com"])
''',
    ),
)
def middleware_order(ctx: FileContext) -> Iterator[Violation]:
    if not ctx.mentions("iddleware"):
        return
    # add_middleware calls, grouped by receiver and scope, in source order: the last added is the outermost.
    stacks: dict[tuple[int, str], list[_Entry]] = {}
    for call in ctx.nodes(ast.Call):
        func = call.func
        if not (isinstance(func, ast.Attribute) and func.attr == "add_middleware"):
            continue
        receiver = dotted(func.value)
        entry = _entry(ctx, call)
        if receiver is None or entry is None:
            continue
        scope = ctx.enclosing_function(call)
        stacks.setdefault((id(scope), receiver), []).append(entry)
    for entries in stacks.values():
        entries.sort(key=lambda e: (e.call.lineno, e.call.col_offset))
        for call, message in _order_problems(list(reversed(entries))):
            yield ctx.violation(call, message)
    # middleware=[Middleware(...), ...]: the first entry is the outermost.
    for call in ctx.nodes(ast.Call):
        listed = keyword(call, "middleware")
        if isinstance(listed, (ast.List, ast.Tuple)):
            entries = [e for e in (_entry(ctx, m) for m in listed.elts if isinstance(m, ast.Call)) if e is not None]
            for problem_call, message in _order_problems(entries):
                yield ctx.violation(problem_call, message)


# --- PF504 ----------------------------------------------------------------------------------------------------

_BODY_LIMIT_WORDS = ("bodylimit", "body_limit", "bodysize", "body_size", "sizelimit", "size_limit", "maxbody",
                     "max_body", "requestsize", "request_size", "contentlength", "content_length", "uploadlimit")


@project_rule(
    code="PF504",
    opt_in="body size is usually capped by the proxy or platform in front of the service, which the review cannot see",
    name="missing-body-size-limit",
    severity="info",
    message="app sets no request body size limit",
    skill_section="Middleware and CORS",
    template="middleware.py",
    requires=SERVICE_GATE,
    docs=RuleDocs(
        what_it_does="Reports a `FastAPI()` app with no body-size middleware (Starlette's "
        "`RequestBodyLimitMiddleware` or one named like a body/size limit), following the app into the project's "
        "helpers. Info: an ingress in front (nginx defaults to 1 MB) may already enforce one.",
        why="Neither uvicorn, gunicorn, Starlette nor FastAPI limits request bodies by default. A client can send a "
        "multi-gigabyte JSON body that the app reads into memory before validation even starts: one request is "
        "enough to run a worker out of memory and get the pod killed.",
        example='''\
from fastapi import FastAPI

app = FastAPI(title="orders")
''',
        use_instead='''\
from fastapi import FastAPI
from starlette.middleware.body_limit import RequestBodyLimitMiddleware

app = FastAPI(title="orders")
app.add_middleware(RequestBodyLimitMiddleware, max_body_size=1_048_576)
''',
    ),
)
def missing_body_size_limit(project: ProjectContext) -> Iterator[Violation]:
    yield from _apps_without_middleware(project, _BODY_LIMIT_WORDS)


def _apps_without_middleware(project: ProjectContext, words: tuple[str, ...]) -> Iterator[Violation]:
    """Service apps none of whose middleware (added, declared or decorated) is named with one of ``words``."""
    for app in service_apps(project):
        calls = app.registrations("add_middleware", "middleware")
        declared = [keyword(c, "middleware") for c in app.registrations("constructor:middleware")]
        nodes: list[ast.AST] = [*calls, *(d for d in declared if d is not None)]
        if not any(mentions_name(node, *words) for node in nodes):
            yield app.ctx.violation(app.call)


# --- PF505 ----------------------------------------------------------------------------------------------------

_SECURITY_HEADER_WORDS = ("securityheader", "security_header", "secureheader", "secure_header", "helmet", "hsts",
                          "secweb")


@project_rule(
    code="PF505",
    opt_in="security headers are usually set by the proxy or CDN, and a JSON API needs few of them",
    name="missing-security-headers",
    severity="info",
    message="app sets no security headers (`X-Content-Type-Options`, `Strict-Transport-Security`...)",
    skill_section="Middleware and CORS",
    template="middleware.py",
    requires=SERVICE_GATE,
    docs=RuleDocs(
        what_it_does="Reports a `FastAPI()` app with no security-headers middleware (one named like "
        "`SecurityHeadersMiddleware`, `helmet` or `hsts`), following the app into the project's helpers. Info: a "
        "gateway in front may add the headers.",
        why="Without `X-Content-Type-Options: nosniff` browsers may sniff a JSON error into HTML, without "
        "`Strict-Transport-Security` the first request of a visit can be downgraded to plain HTTP, and without "
        "`X-Frame-Options` any page can frame the service's HTML (docs, redirects). The headers cost nothing and "
        "one middleware guarantees them on every response, errors included.",
        example='''\
from fastapi import FastAPI

app = FastAPI(title="orders")
''',
        use_instead='''\
from fastapi import FastAPI

from app.middleware import SecurityHeadersMiddleware

app = FastAPI(title="orders")
app.add_middleware(SecurityHeadersMiddleware)
''',
    ),
)
def missing_security_headers(project: ProjectContext) -> Iterator[Violation]:
    yield from _apps_without_middleware(project, _SECURITY_HEADER_WORDS)


# --- PF506 ----------------------------------------------------------------------------------------------------


@project_rule(
    code="PF506",
    opt_in="house convention: request IDs often come from the proxy or a tracing library the review cannot see",
    name="missing-request-id",
    severity="info",
    message="app assigns no request ID: log lines and error responses can't be matched",
    skill_section="Middleware and CORS",
    template="middleware.py",
    requires=SERVICE_GATE,
    docs=RuleDocs(
        what_it_does="Reports a `FastAPI()` app with no request-ID middleware (one named like "
        "`RequestIDMiddleware` or asgi-correlation-id's `CorrelationIdMiddleware`), following the app into the "
        "project's helpers.",
        why="When a client reports a failed request, the request ID in the response is the one key that finds "
        "its log lines, its trace and the error behind a 500. Without it, debugging production means guessing "
        "by timestamp across every replica.",
        example='''\
from fastapi import FastAPI

app = FastAPI(title="orders")
''',
        use_instead='''\
from fastapi import FastAPI

from app.middleware import RequestIDMiddleware

app = FastAPI(title="orders")
app.add_middleware(RequestIDMiddleware)
''',
    ),
)
def missing_request_id(project: ProjectContext) -> Iterator[Violation]:
    yield from _apps_without_middleware(project, _REQUEST_ID_WORDS)
