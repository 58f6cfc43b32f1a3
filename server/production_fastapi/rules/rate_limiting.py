"""Area 9, rate limiting: limits that work at runtime, cover credential endpoints, and tell clients when to retry."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from typing import Any

from production_fastapi.rules._apps import SERVICE_GATE, mentions_name, segments, service_apps
from production_fastapi.rules._helpers import annotation_names, dotted, function_nodes, keyword, route_of, string_value
from production_fastapi.rules.base import RuleDocs, Violation, file_rule, project_rule
from production_fastapi.rules.context import FileContext, ProjectContext

_LIMITERS = frozenset({"slowapi.Limiter", "slowapi.extension.Limiter"})
_LIMIT_METHODS = frozenset({"limit", "shared_limit"})
_RATE_STRING = re.compile(r"^\s*\d+\s*(/|per)\s*\d*\s*[a-z]+", re.IGNORECASE)
_REQUEST_TYPES = frozenset(
    {"starlette.requests.Request", "fastapi.Request", "fastapi.requests.Request", "starlette.websockets.WebSocket",
     "fastapi.WebSocket", "fastapi.websockets.WebSocket", "starlette.requests.HTTPConnection"}
)
_RATE_WORDS = ("rate", "limit", "throttl", "slowapi")


def _limiter_names(ctx: FileContext) -> set[str]:
    """Module-level names bound to a slowapi ``Limiter``."""
    names: set[str] = set()
    for statement in ctx.tree.body:
        if (
            isinstance(statement, ast.Assign)
            and isinstance(statement.value, ast.Call)
            and ctx.qualified_name(statement.value.func) in _LIMITERS
        ):
            names.update(t.id for t in statement.targets if isinstance(t, ast.Name))
    return names


def _slowapi_limit(ctx: FileContext, decorator: ast.expr, limiters: set[str], routed: bool) -> bool:
    """``@limiter.limit("5/minute")`` of slowapi: a Limiter bound in this file, or a ``limiter`` imported into
    a route's decorators with a rate string (the shape slowapi's docs and every tutorial use)."""
    if not (isinstance(decorator, ast.Call) and isinstance(decorator.func, ast.Attribute)):
        return False
    if decorator.func.attr not in _LIMIT_METHODS:
        return False
    receiver = decorator.func.value
    if isinstance(receiver, ast.Name) and receiver.id in limiters:
        return True
    qualified = ctx.qualified_name(receiver) or ""
    rate = string_value(decorator.args[0]) if decorator.args else None
    return routed and qualified.lower().endswith("limiter") and rate is not None and bool(_RATE_STRING.match(rate))


# --- PF901 ----------------------------------------------------------------------------------------------------


@file_rule(
    code="PF901",
    name="rate-limit-missing-request-param",
    severity="error",
    message="slowapi `@limit` on an endpoint without a `request: Request` parameter",
    skill_section="Rate limiting",
    template="rate_limiting.py",
    requires=("slowapi",),
    docs=RuleDocs(
        what_it_does="Flags a slowapi `@limiter.limit(...)` on a function that has no parameter named `request` "
        "(or `websocket`), or whose `request` parameter is annotated as something other than `Request`.",
        why="slowapi finds the request by parameter name. Without it the decorator raises when the module is "
        "imported, so the service doesn't start; with a `request` of another type every call fails with "
        "\"parameter `request` must be an instance of starlette.requests.Request\" and the endpoint answers 500.",
        example='''\
from fastapi import FastAPI
from slowapi import Limiter
from slowapi.util import get_remote_address

limiter = Limiter(key_func=get_remote_address)
app = FastAPI()


@app.get("/search")
@limiter.limit("30/minute")
async def search(q: str) -> list[str]:
    return [q]
''',
        use_instead='''\
from fastapi import FastAPI, Request
from slowapi import Limiter
from slowapi.util import get_remote_address

limiter = Limiter(key_func=get_remote_address)
app = FastAPI()


@app.get("/search")
@limiter.limit("30/minute")
async def search(request: Request, q: str) -> list[str]:
    return [q]
''',
    ),
)
def rate_limit_missing_request_param(ctx: FileContext) -> Iterator[Violation]:
    limiters = _limiter_names(ctx)
    for function in function_nodes(ctx):
        routed = route_of(function) is not None
        for decorator in function.decorator_list:
            if not _slowapi_limit(ctx, decorator, limiters, routed):
                continue
            args = function.args
            params = {a.arg: a for a in [*args.posonlyargs, *args.args, *args.kwonlyargs]}
            found = params.get("request") or params.get("websocket")
            if found is None:
                yield ctx.violation(decorator, f"slowapi `@limit` on `{function.name}()` without a `request: "
                                    "Request` parameter: slowapi raises when the module is imported")
            elif found.annotation is not None and not any(
                ctx.qualified_name(n) in _REQUEST_TYPES for n in annotation_names(found.annotation)
            ) and ctx.qualified_name(found.annotation) is not None:
                yield ctx.violation(decorator, f"`{found.arg}` of `{function.name}()` is not a `Request`: slowapi "
                                    "fails every call with a 500")


# --- PF902 ----------------------------------------------------------------------------------------------------

_AUTH_LAST = frozenset({"login", "signin", "sign-in", "token", "register", "signup", "sign-up", "password-reset",
                        "reset-password", "forgot-password", "otp", "mfa", "2fa", "magic-link"})
_AUTH_PAIRS = frozenset({("password", "reset"), ("password", "forgot"), ("auth", "token"), ("oauth", "token"),
                         ("users", "register"), ("accounts", "register")})


def is_auth_path(path: str) -> bool:
    parts = [p.lower() for p in segments(path) if not p.startswith("{")]
    if not parts:
        return False
    last = parts[-1].replace("_", "-")
    return last in _AUTH_LAST or (len(parts) > 1 and (parts[-2], last) in _AUTH_PAIRS)


_TYPE_ALIAS: type[ast.stmt] | None = getattr(ast, "TypeAlias", None)


def _module_aliases(tree: ast.Module) -> dict[str, ast.expr]:
    """Module-level aliases: ``Limited = Annotated[None, Depends(...)]``, ``X: TypeAlias = ...``, ``type X = ...``."""
    aliases: dict[str, ast.expr] = {}
    for statement in tree.body:
        if isinstance(statement, ast.Assign) and len(statement.targets) == 1:
            target, value = statement.targets[0], statement.value
        elif isinstance(statement, ast.AnnAssign) and statement.value is not None:
            target, value = statement.target, statement.value
        elif _TYPE_ALIAS is not None and isinstance(statement, _TYPE_ALIAS):  # `type X = ...`, Python 3.12+
            alias: Any = statement  # ast.TypeAlias only exists on 3.12+, so mypy checks this on 3.11 terms
            target, value = alias.name, alias.value
        else:
            continue
        if isinstance(target, ast.Name):
            aliases[target.id] = value
    return aliases


def _annotation_depends_on_rate_limit(annotation: ast.expr, aliases: dict[str, ast.expr]) -> bool:
    # A dependency is often declared once as an Annotated alias and reused: look through aliases of this module.
    if _depends_on_rate_limit(annotation):
        return True
    return any(
        isinstance(node, ast.Name) and node.id in aliases and _depends_on_rate_limit(aliases[node.id])
        for node in ast.walk(annotation)
    )


def _rate_limited_function(
    function: ast.FunctionDef | ast.AsyncFunctionDef, decorator: ast.Call | None, aliases: dict[str, ast.expr]
) -> bool:
    for d in function.decorator_list:
        if isinstance(d, ast.Call) and isinstance(d.func, ast.Attribute) and d.func.attr in _LIMIT_METHODS:
            return True
    if decorator is not None:
        deps = keyword(decorator, "dependencies")
        if deps is not None and mentions_name(deps, *_RATE_WORDS):
            return True
    args = function.args
    for arg in [*args.posonlyargs, *args.args, *args.kwonlyargs]:
        if arg.annotation is not None and _annotation_depends_on_rate_limit(arg.annotation, aliases):
            return True
    return any(_depends_on_rate_limit(default) for default in [*args.defaults, *args.kw_defaults] if default)


def _depends_on_rate_limit(node: ast.AST) -> bool:
    for inner in ast.walk(node):
        if (
            isinstance(inner, ast.Call)
            and (dotted(inner.func) or "").rpartition(".")[2] in ("Depends", "Security")
            and mentions_name(inner, *_RATE_WORDS)
        ):
            return True
    return False


@project_rule(
    code="PF902",
    name="auth-route-without-rate-limit",
    severity="warning",
    message="credential endpoint without a rate limit",
    skill_section="Rate limiting",
    template="rate_limiting.py",
    requires=SERVICE_GATE,
    docs=RuleDocs(
        what_it_does="Follows each app through its routers and flags login, token, register, sign-up and "
        "password-reset routes with no rate limit: no slowapi `@limit`, no dependency named like a rate limit on "
        "the route, its routers or the app, and no rate-limiting middleware on the app. Silent when the app is "
        "handed to code it cannot read.",
        why="Credential endpoints are what attackers hammer: password spraying and credential stuffing try "
        "thousands of passwords per minute, sign-up and reset endpoints get abused to send mail and create "
        "accounts in bulk. A strict per-client limit there turns an overnight compromise into a blocked script.",
        example='''\
from fastapi import FastAPI

app = FastAPI()


@app.post("/auth/login")
async def login(username: str, password: str) -> dict[str, str]:
    return {"access_token": "..."}
''',
        use_instead='''\
from typing import Annotated

from fastapi import Depends, FastAPI

from app.rate_limiting import rate_limit

app = FastAPI()


@app.post("/auth/login", dependencies=[Depends(rate_limit("5/minute"))])
async def login(username: str, password: str) -> dict[str, str]:
    return {"access_token": "..."}
''',
    ),
)
def auth_route_without_rate_limit(project: ProjectContext) -> Iterator[Violation]:
    reported: set[int] = set()
    for app in service_apps(project):
        middleware = app.registrations("add_middleware", "constructor:middleware", "middleware")
        if any(mentions_name(call, "ratelimit", "rate_limit", "slowapi", "throttl") for call in middleware):
            continue
        for routed in app.routes():
            route = routed.route
            if routed.path is None or not is_auth_path(routed.path) or route.endpoint is None:
                continue
            if id(route.node) in reported or any(mentions_name(d, *_RATE_WORDS) for d in routed.dependencies):
                continue
            decorator = route.node if isinstance(route.node, ast.Call) and route.kind == "decorator" else None
            if _rate_limited_function(route.endpoint, decorator, _module_aliases(route.file.tree)):
                continue
            reported.add(id(route.node))
            yield route.file.violation(route.node, f"credential endpoint `{routed.path}` has no rate limit: add a "
                                       "strict per-client limit")


# --- PF903 ----------------------------------------------------------------------------------------------------

_TOO_MANY = frozenset({"starlette.status.HTTP_429_TOO_MANY_REQUESTS", "fastapi.status.HTTP_429_TOO_MANY_REQUESTS",
                       "http.HTTPStatus.TOO_MANY_REQUESTS"})
_RATE_LIMIT_EXCEEDED = frozenset({"slowapi.errors.RateLimitExceeded", "slowapi.RateLimitExceeded"})


def _is_429(ctx: FileContext, node: ast.expr | None) -> bool:
    if isinstance(node, ast.Constant):
        return node.value == 429
    return node is not None and ctx.qualified_name(node) in _TOO_MANY


def _status_of(ctx: FileContext, call: ast.Call, http_exception: bool) -> ast.expr | None:
    explicit = keyword(call, "status_code")
    if explicit is not None:
        return explicit
    if http_exception and call.args:
        return call.args[0]
    if not http_exception and len(call.args) >= 2:
        return call.args[1]
    return None


def _headers_lack_retry_after(call: ast.Call, http_exception: bool) -> bool:
    headers = keyword(call, "headers")
    if headers is None and http_exception and len(call.args) >= 3:
        headers = call.args[2]
    if headers is None:
        return not any(kw.arg is None for kw in call.keywords)
    if not isinstance(headers, ast.Dict):
        return False  # built elsewhere: can't tell
    if any(key is None for key in headers.keys):
        return False  # `**other`: may carry it
    return not any((string_value(key) or "").lower() == "retry-after" for key in headers.keys)


@file_rule(
    code="PF903",
    opt_in="clients and proxies retry a 429 without `Retry-After` too; a missing header is a convention, not a failure",
    name="retry-after-missing",
    severity="warning",
    message="429 response without a `Retry-After` header",
    skill_section="Rate limiting",
    template="rate_limiting.py",
    requires=("fastapi", "starlette", "slowapi"),
    docs=RuleDocs(
        what_it_does="Flags `HTTPException` and responses built with status 429 and no `Retry-After` header, and "
        "`exc.retry_after` on slowapi's `RateLimitExceeded` (it has no such attribute).",
        why="Without `Retry-After`, well-behaved clients and SDKs retry at once, and the limit turns into a retry "
        "storm. And `RateLimitExceeded` carries only `.limit`: the handler that reads `exc.retry_after` raises "
        "`AttributeError`, so every rate-limited request becomes a 500 and an error alert.",
        example='''\
from fastapi import FastAPI, HTTPException

app = FastAPI()


@app.get("/quota")
async def quota() -> None:
    raise HTTPException(status_code=429, detail="slow down")
''',
        use_instead='''\
from fastapi import FastAPI, HTTPException

app = FastAPI()


@app.get("/quota")
async def quota() -> None:
    raise HTTPException(status_code=429, detail="slow down", headers={"Retry-After": "60"})
''',
    ),
)
def retry_after_missing(ctx: FileContext) -> Iterator[Violation]:
    if ctx.mentions("429", "TOO_MANY_REQUESTS"):
        for call in ctx.nodes(ast.Call):
            qualified = ctx.qualified_name(call.func) or ""
            short = qualified.rpartition(".")[2]
            http_exception = short == "HTTPException" and qualified.startswith(("fastapi.", "starlette."))
            response = short.endswith("Response") and qualified.startswith(("fastapi.", "starlette."))
            if not (http_exception or response):
                continue
            if _is_429(ctx, _status_of(ctx, call, http_exception)) and _headers_lack_retry_after(call, http_exception):
                yield ctx.violation(call)
    if ctx.mentions("retry_after"):
        exceeded: set[str] = set()
        for function in function_nodes(ctx):
            args = function.args
            for arg in [*args.posonlyargs, *args.args, *args.kwonlyargs]:
                if any(ctx.qualified_name(n) in _RATE_LIMIT_EXCEEDED for n in annotation_names(arg.annotation)):
                    exceeded.add(arg.arg)
        for handler in ctx.nodes(ast.ExceptHandler):
            if handler.name and handler.type is not None and ctx.qualified_name(handler.type) in _RATE_LIMIT_EXCEEDED:
                exceeded.add(handler.name)
        for attribute in ctx.nodes(ast.Attribute):
            if (
                attribute.attr == "retry_after"
                and isinstance(attribute.value, ast.Name)
                and attribute.value.id in exceeded
            ):
                yield ctx.violation(attribute, "`RateLimitExceeded` has no `retry_after`: the handler raises "
                                    "`AttributeError` and every 429 becomes a 500")


# --- PF904 ----------------------------------------------------------------------------------------------------

_GET_IPADDR = frozenset({"slowapi.util.get_ipaddr"})
#: Keyword arguments that name a rate-limit key function: slowapi's, fastapi-limiter's, and the templates' own.
_KEY_ARGUMENTS = frozenset({"key_func", "key", "identifier", "key_builder"})
_FORWARDING_HEADERS = frozenset({"x-forwarded-for", "x-real-ip", "forwarded", "x-client-ip", "true-client-ip",
                                 "cf-connecting-ip"})


@file_rule(
    code="PF904",
    name="rate-limit-key-from-client-header",
    severity="error",
    message="rate-limit key read from a header the client chooses",
    fix_title="Key on `get_remote_address`",
    skill_section="Rate limiting",
    fix="production_fastapi.rules.rate_limiting_fixes:GetIpaddrToRemoteAddress",
    fix_applicability="unsafe",
    template="rate_limiting.py",
    docs=RuleDocs(
        what_it_does="Flags slowapi's `get_ipaddr` used as a rate-limit key function (`Limiter(key_func=...)`, "
        "`@limiter.limit(..., key_func=...)`), and a key function of the same file (`key_func=`, `key=`, "
        "`identifier=`) that reads `X-Forwarded-For`, `X-Real-IP` or `Forwarded` from the request headers.",
        why="`get_ipaddr` reads a header literally named `X_FORWARDED_FOR`, with underscores. Proxies send "
        "`X-Forwarded-For`, which never matches, so behind a proxy every client shares the proxy's address and "
        "one user exhausts everyone's limit; meanwhile any client can send `X_FORWARDED_FOR` itself and pick a "
        "fresh key per request, bypassing the limit entirely. A hand-written key that reads `X-Forwarded-For` "
        "has the second problem: the client writes the header, so it writes its own key.",
        example='''\
from slowapi import Limiter
from slowapi.util import get_ipaddr

limiter = Limiter(key_func=get_ipaddr)
''',
        use_instead='''\
from slowapi import Limiter
from slowapi.util import get_remote_address

limiter = Limiter(key_func=get_remote_address)
''',
        fix_safety="Unsafe (applied with `--unsafe-fixes`): a client that sends the underscore header gets "
        "another key, which is the point but changes behaviour. "
        "For `get_ipaddr` itself: it becomes slowapi's `get_remote_address` (same signature). "
        "For honest traffic behind a proxy both already return the proxy's address (the underscore header never "
        "matches); the fix only removes the client's ability to choose its key. Configure uvicorn's "
        "`--forwarded-allow-ips` with the proxy's addresses to get real client addresses. Hand-written key "
        "functions are only reported.",
    ),
)
def rate_limit_key_from_client_header(ctx: FileContext) -> Iterator[Violation]:
    if not ctx.mentions_any_case("get_ipaddr", "forwarded", "real-ip", "real_ip", "client-ip", "client_ip",
                                 "connecting-ip", "connecting_ip"):
        return  # no `get_ipaddr` and no forwarding header named, in any case
    local = {f.name: f for f in function_nodes(ctx) if ctx.enclosing_function(f) is None}
    for call in ctx.nodes(ast.Call):
        candidates = [kw.value for kw in call.keywords if kw.arg in _KEY_ARGUMENTS]
        if ctx.qualified_name(call.func) in _LIMITERS and call.args:
            candidates.append(call.args[0])
        for candidate in candidates:
            if ctx.qualified_name(candidate) in _GET_IPADDR:
                yield ctx.violation(candidate, "`get_ipaddr` keys rate limits on a header the client chooses",
                                    fixable=isinstance(candidate, (ast.Name, ast.Attribute)))
            elif isinstance(candidate, ast.Name) and candidate.id in local and _reads_forwarding_header(
                local[candidate.id]
            ):
                yield ctx.violation(candidate, f"rate-limit key `{candidate.id}` reads a forwarding header the client "
                                    "can set: key on the peer address behind trusted proxy handling", fixable=False)


def _reads_forwarding_header(function: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """The function looks a client-settable forwarding header up by name (``request.headers.get("x-forwarded-for")``,
    ``request.headers["X-Real-IP"]``)."""

    def forwarding(node: ast.AST | None) -> bool:
        value = string_value(node)
        return value is not None and value.lower().replace("_", "-") in _FORWARDING_HEADERS

    for node in ast.walk(function):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in ("get", "getlist", "get_all")
            and (dotted(node.func.value) or "").endswith("headers")
            and node.args
            and forwarding(node.args[0])
        ):
            return True
        if isinstance(node, ast.Subscript) and (dotted(node.value) or "").endswith("headers") and forwarding(
            node.slice
        ):
            return True
    return False


# --- PF905 ----------------------------------------------------------------------------------------------------

#: Parts of slowapi that read the limiter from ``request.app.state.limiter`` at request time.
_NEEDS_STATE = frozenset(
    {"slowapi._rate_limit_exceeded_handler", "slowapi.extension._rate_limit_exceeded_handler",
     "slowapi.middleware.SlowAPIMiddleware", "slowapi.middleware.SlowAPIASGIMiddleware"}
)


def _sets_state_limiter(ctx: FileContext) -> bool:
    for targets, _ in ctx.assignments():
        if any(isinstance(t, ast.Attribute) and (dotted(t) or "").endswith("state.limiter") for t in targets):
            return True
    return any(
        len(call.args) >= 2 and string_value(call.args[1]) == "limiter" for call in ctx.calls("builtins.setattr")
    )


@project_rule(
    code="PF905",
    name="slowapi-limiter-not-on-app-state",
    severity="error",
    message="slowapi reads `app.state.limiter`, which nothing sets",
    skill_section="Rate limiting",
    template="rate_limiting.py",
    requires=("slowapi",),
    docs=RuleDocs(
        what_it_does="Flags slowapi's `SlowAPIMiddleware` or `_rate_limit_exceeded_handler` in a project where "
        "nothing assigns `app.state.limiter`. Silent when it sees only part of the project.",
        why="Both look the limiter up on `request.app.state` at request time. Without the assignment the middleware "
        "raises `AttributeError` on every request, and the handler raises it exactly when a client hits the limit, "
        "so the 429 meant to protect the service becomes a 500 and an error alert.",
        example='''\
from fastapi import FastAPI
from slowapi import Limiter, _rate_limit_exceeded_handler
from slowapi.errors import RateLimitExceeded
from slowapi.util import get_remote_address

limiter = Limiter(key_func=get_remote_address)
app = FastAPI()
app.add_exception_handler(RateLimitExceeded, _rate_limit_exceeded_handler)
''',
        use_instead='''\
from fastapi import FastAPI
from slowapi import Limiter, _rate_limit_exceeded_handler
from slowapi.errors import RateLimitExceeded
from slowapi.util import get_remote_address

limiter = Limiter(key_func=get_remote_address)
app = FastAPI()
app.state.limiter = limiter
app.add_exception_handler(RateLimitExceeded, _rate_limit_exceeded_handler)
''',
    ),
)
def slowapi_limiter_not_on_app_state(project: ProjectContext) -> Iterator[Violation]:
    if not project.complete or any(_sets_state_limiter(ctx) for ctx in project.files):
        return
    for ctx in project.files:
        for name in ctx.nodes(ast.Name, ast.Attribute):
            if isinstance(ctx.parent(name), ast.Attribute) or ctx.qualified_name(name) not in _NEEDS_STATE:
                continue
            yield ctx.violation(name)
