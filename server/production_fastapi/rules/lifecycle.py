"""Area 1, lifecycle: resources are created once in lifespan, shared, and closed on shutdown."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from production_fastapi.rules._helpers import dotted, keyword, own_nodes, request_functions, string_value
from production_fastapi.rules.base import DEPRECATION_CONTEXTS, RuleDocs, Violation, file_rule
from production_fastapi.rules.context import FileContext

#: Constructors of pooled clients: each owns connections that are meant to live as long as the process.
CLIENT_FACTORIES = frozenset(
    {
        "httpx.AsyncClient",
        "httpx.Client",
        "sqlalchemy.ext.asyncio.create_async_engine",
        "sqlalchemy.create_engine",
        "sqlalchemy.engine.create_engine",
        "redis.asyncio.from_url",
        "redis.asyncio.Redis",
        "redis.asyncio.Redis.from_url",
        "redis.asyncio.client.Redis",
        "redis.asyncio.client.Redis.from_url",
        "redis.asyncio.StrictRedis",
        "redis.Redis",
        "redis.Redis.from_url",
        "redis.from_url",
        "redis.StrictRedis",
        "aiohttp.ClientSession",
        "asyncpg.create_pool",
    }
)
_APP_FACTORIES = frozenset(
    {
        "fastapi.FastAPI",
        "fastapi.applications.FastAPI",
        "fastapi.APIRouter",
        "fastapi.routing.APIRouter",
        "starlette.applications.Starlette",
        "starlette.routing.Router",
    }
)
_EVENTS = frozenset({"startup", "shutdown"})


# --- PF101 ----------------------------------------------------------------------------------------------------


@file_rule(
    code="PF101",
    contexts=DEPRECATION_CONTEXTS,
    name="on-event-handler",
    severity="warning",
    message="startup/shutdown event handler: use a lifespan context manager",
    fix_title="Merge the startup and shutdown handlers into one lifespan",
    skill_section="Lifecycle",
    template="lifespan.py",
    requires=("fastapi", "starlette"),
    fix="production_fastapi.rules.lifecycle_fixes:OnEventToLifespan",
    fix_applicability="unsafe",
    versions="fastapi>=0.93",
    docs=RuleDocs(
        what_it_does="Flags `@app.on_event(\"startup\"|\"shutdown\")`, `app.add_event_handler(...)` and the "
        "`on_startup=`/`on_shutdown=` arguments of `FastAPI()`/`APIRouter()`.",
        why="Starlette 1.0 removed event handlers and FastAPI keeps them only behind a deprecation warning. They "
        "also split one resource across two functions with nothing tying them together: a client opened at "
        "startup and forgotten at shutdown, or a shutdown that runs after a failed startup. A lifespan keeps "
        "creation and cleanup in one function around a `yield`.",
        example='''\
import httpx
from fastapi import FastAPI

app = FastAPI()


@app.on_event("startup")
async def startup() -> None:
    app.state.http = httpx.AsyncClient(timeout=10.0)


@app.on_event("shutdown")
async def shutdown() -> None:
    await app.state.http.aclose()
''',
        use_instead='''\
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    async with httpx.AsyncClient(timeout=10.0) as client:
        app.state.http = client
        yield


app = FastAPI(lifespan=lifespan)
''',
        fix_safety="Unsafe (applied with `--unsafe-fixes`): once `lifespan=` is set, Starlette ignores the "
        "`on_event` handlers routers elsewhere in the project bring in through `include_router`, and shutdown now "
        "also runs after a failed startup. "
        "Offered when the file has exactly one `@app.on_event(\"startup\")` and at most one "
        "`@app.on_event(\"shutdown\")` handler on a `FastAPI()` created in the same module without a `lifespan=`: "
        "the two bodies become one `lifespan` function (startup before `yield`, shutdown after, in a `try`/"
        "`finally` so shutdown also runs when the app stops with an error) passed to `FastAPI(lifespan=...)`. "
        "Other shapes (`add_event_handler`, `on_startup=` lists, several handlers) are reported without a fix.",
    ),
)
def on_event_handler(ctx: FileContext) -> Iterator[Violation]:
    if not ctx.mentions("on_event", "add_event_handler", "on_startup", "on_shutdown"):
        return
    fixable = lifespan_plan(ctx) is not None
    for call in ctx.nodes(ast.Call):
        func = call.func
        if isinstance(func, ast.Attribute) and func.attr in ("on_event", "add_event_handler"):
            event = string_value(call.args[0]) if call.args else string_value(keyword(call, "event_type"))
            if event in _EVENTS:
                yield ctx.violation(call, f"`{func.attr}(\"{event}\")` handler: use a lifespan context manager",
                                    fixable=fixable)
        elif ctx.qualified_name(func) in _APP_FACTORIES:
            for kw in call.keywords:
                if kw.arg in ("on_startup", "on_shutdown"):
                    yield ctx.violation(kw, f"`{kw.arg}=` handlers: use a lifespan context manager", fixable=False)


def _handler_event(function: ast.stmt) -> tuple[str, str] | None:
    """(receiver name, event) when a module-level function is decorated only with ``@R.on_event("...")``."""
    if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)) or len(function.decorator_list) != 1:
        return None
    decorator = function.decorator_list[0]
    if not (
        isinstance(decorator, ast.Call)
        and isinstance(decorator.func, ast.Attribute)
        and decorator.func.attr == "on_event"
        and isinstance(decorator.func.value, ast.Name)
        and len(decorator.args) == 1
        and not decorator.keywords
    ):
        return None
    event = string_value(decorator.args[0])
    return (decorator.func.value.id, event) if event in _EVENTS else None


def lifespan_plan(ctx: FileContext) -> tuple[str, dict[str, ast.FunctionDef | ast.AsyncFunctionDef]] | None:
    """The receiver and the handlers when the file's event handlers merge mechanically into one lifespan.

    The shape: one ``startup`` and at most one ``shutdown`` module-level handler on the same ``app = FastAPI(...)``
    (assigned once, at module level, without ``lifespan=``), taking no parameters, never returning early or
    referenced elsewhere, with no comment above them that the merge would drop, and no other event-handler style
    in the file. Anything else is reported without a fix.
    """
    handlers: dict[str, ast.FunctionDef | ast.AsyncFunctionDef] = {}
    receiver: str | None = None
    for statement in ctx.tree.body:
        found = _handler_event(statement)
        if found is None:
            continue
        assert isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef))
        name, event = found
        if event in handlers or (receiver is not None and receiver != name):
            return None
        receiver = name
        handlers[event] = statement
    if receiver is None or "startup" not in handlers:
        return None
    # Every other spelling of event handlers in the file makes the merge partial: leave it to a person.
    total = sum(
        1
        for call in ctx.nodes(ast.Call)
        if isinstance(call.func, ast.Attribute) and call.func.attr in ("on_event", "add_event_handler")
    ) + sum(1 for kw in ctx.nodes(ast.keyword) if kw.arg in ("on_startup", "on_shutdown"))
    if total != len(handlers):
        return None
    creations = [
        s
        for s in ctx.tree.body
        if isinstance(s, ast.Assign) and any(isinstance(t, ast.Name) and t.id == receiver for t in s.targets)
    ]
    if len(creations) != 1 or not isinstance(creations[0].value, ast.Call):
        return None
    call = creations[0].value
    if ctx.qualified_name(call.func) not in _APP_FACTORIES or any(
        kw.arg in (None, "lifespan") for kw in call.keywords
    ):
        return None
    if any(isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Assign)) and _binds(s, "lifespan")
           for s in ctx.tree.body):
        return None
    names = {h.name for h in handlers.values()}
    for handler in handlers.values():
        args = handler.args
        if args.args or args.posonlyargs or args.kwonlyargs or args.vararg or args.kwarg:
            return None
        if any(isinstance(n, (ast.Return, ast.Yield, ast.YieldFrom)) for n in own_nodes(handler)):
            return None
        above = ctx.line_text(handler.decorator_list[0].lineno - 1).strip()
        if above.startswith("#"):
            return None
    uses = sum(1 for n in ctx.nodes(ast.Name) if n.id in names)
    if uses:
        return None
    return receiver, handlers


def _binds(statement: ast.stmt, name: str) -> bool:
    if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return statement.name == name
    if isinstance(statement, ast.Assign):
        return any(isinstance(t, ast.Name) and t.id == name for t in statement.targets)
    return False


# --- PF102 ----------------------------------------------------------------------------------------------------


@file_rule(
    code="PF102",
    opt_in="a client per request is a cost, not a failure, on low-traffic routes; judged findings were debatable",
    name="client-per-request",
    severity="warning",
    message="client created for every request: create it once in lifespan and share it",
    skill_section="Lifecycle",
    template="lifespan.py",
    requires=("httpx", "sqlalchemy", "redis", "aiohttp", "asyncpg"),
    docs=RuleDocs(
        what_it_does="Flags HTTP clients (`httpx.AsyncClient`, `aiohttp.ClientSession`), database engines and "
        "pools (`create_async_engine`, `asyncpg.create_pool`) and Redis clients created inside a route handler or "
        "a dependency function.",
        why="Each of these owns a connection pool. Built per request, every request pays a fresh TCP and TLS "
        "handshake (tens of milliseconds, more across regions), keep-alive never helps, and under load the "
        "service opens sockets faster than the kernel recycles them: connection errors, exhausted database "
        "connection limits, and latency that grows with traffic.",
        example='''\
import httpx
from fastapi import FastAPI

app = FastAPI()


@app.get("/rates/{currency}")
async def rate(currency: str) -> float:
    async with httpx.AsyncClient(timeout=5.0) as client:
        response = await client.get(f"https://rates.example.com/{currency}")
    return float(response.json()["rate"])
''',
        use_instead='''\
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI, Request


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    async with httpx.AsyncClient(timeout=5.0) as client:
        app.state.http = client
        yield


app = FastAPI(lifespan=lifespan)


@app.get("/rates/{currency}")
async def rate(currency: str, request: Request) -> float:
    response = await request.app.state.http.get(f"https://rates.example.com/{currency}")
    return float(response.json()["rate"])
''',
    ),
)
def client_per_request(ctx: FileContext) -> Iterator[Violation]:
    if not ctx.may_call(*CLIENT_FACTORIES):
        return
    for function in request_functions(ctx):
        for node in own_nodes(function):
            if isinstance(node, ast.Call) and ctx.qualified_name(node.func) in CLIENT_FACTORIES:
                name = ctx.qualified_name(node.func) or ""
                yield ctx.violation(node, f"`{name.rpartition('.')[2]}` created for every request: create it once "
                                    "in lifespan and share it")


# --- PF103 ----------------------------------------------------------------------------------------------------

#: Exit-stack methods: a resource handed to one of these is closed when the stack unwinds.
_EXIT_STACK_METHODS = frozenset(
    {"enter_async_context", "enter_context", "push_async_callback", "callback", "push", "push_async_exit"}
)


def _lifespan_functions(ctx: FileContext) -> Iterator[ast.AsyncFunctionDef]:
    passed: set[str] = set()
    for call in ctx.nodes(ast.Call):
        value = keyword(call, "lifespan")
        if isinstance(value, ast.Name):
            passed.add(value.id)
    for function in ctx.nodes(ast.AsyncFunctionDef):
        decorated = any(
            (ctx.qualified_name(d) or "").endswith("asynccontextmanager") for d in function.decorator_list
        )
        if function.name in passed or (decorated and "lifespan" in function.name):
            yield function


def _maximal_chains(ctx: FileContext, nodes: list[ast.AST]) -> set[str]:
    """Dotted names used whole (``app.state.http`` in ``app.state.http.aclose()`` gives ``app.state.http.aclose``)."""
    chains: set[str] = set()
    for node in nodes:
        if isinstance(node, (ast.Name, ast.Attribute)) and not isinstance(ctx.parent(node), ast.Attribute):
            name = dotted(node)
            if name is not None:
                chains.add(name)
    return chains


def _mentions(chains: set[str], target: str) -> bool:
    return any(c == target or c.startswith(target + ".") or target.startswith(c + ".") for c in chains)


@file_rule(
    code="PF103",
    name="lifespan-leaks-resource",
    severity="warning",
    message="resource created in lifespan is never closed after `yield`",
    skill_section="Lifecycle",
    template="lifespan.py",
    requires=("httpx", "sqlalchemy", "redis", "aiohttp", "asyncpg"),
    # Examples too: a lifespan is exactly the code readers copy from an example, leak included.
    contexts=("service", "example"),
    docs=RuleDocs(
        what_it_does="In a lifespan function, flags a client, engine or pool assigned before `yield` that nothing "
        "after the `yield` closes (`aclose()`, `close()`, `dispose()`), that is not entered with `async with` and "
        "not registered on an exit stack. A resource passed to a helper after `yield` is assumed closed there.",
        why="On shutdown the process exits with the pool still open: connections are dropped instead of closed, "
        "PostgreSQL logs unexpected EOFs and keeps server slots busy until its own timeout, buffered writes are "
        "lost, and tests that start the app repeatedly leak sockets until they fail with too many open files.",
        example='''\
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    app.state.http = httpx.AsyncClient(timeout=10.0)
    yield


app = FastAPI(lifespan=lifespan)
''',
        use_instead='''\
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    app.state.http = httpx.AsyncClient(timeout=10.0)
    try:
        yield
    finally:
        await app.state.http.aclose()


app = FastAPI(lifespan=lifespan)
''',
    ),
)
def lifespan_leaks_resource(ctx: FileContext) -> Iterator[Violation]:
    if not ctx.mentions("lifespan"):
        return  # a lifespan is passed as `lifespan=` or named so
    for function in _lifespan_functions(ctx):
        nodes = list(own_nodes(function))
        yields = [n for n in nodes if isinstance(n, ast.Yield)]
        if not yields:
            continue
        yield_line = min(y.lineno for y in yields)
        created: list[tuple[ast.Assign, set[str]]] = []
        for node in nodes:
            if not isinstance(node, ast.Assign) or node.lineno >= yield_line:
                continue
            value = node.value.value if isinstance(node.value, ast.Await) else node.value
            if isinstance(value, ast.Call) and ctx.qualified_name(value.func) in CLIENT_FACTORIES:
                names = {n for n in (dotted(t) for t in node.targets) if n is not None}
                if names:
                    created.append((node, names))
            else:  # `app.state.cache = cache`: the resource now answers to both names
                source = dotted(node.value)
                for _, names in created:
                    if source in names:
                        names.update(n for n in (dotted(t) for t in node.targets) if n is not None)
        if not created:
            continue
        after = _maximal_chains(ctx, [n for n in nodes if getattr(n, "lineno", 0) > yield_line])
        registered: set[str] = set()
        for node in nodes:
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in _EXIT_STACK_METHODS
            ):
                registered |= _maximal_chains(ctx, list(ast.walk(node)))
        for assign, names in created:
            if any(_mentions(after, name) or _mentions(registered, name) for name in names):
                continue
            yield ctx.violation(assign)
