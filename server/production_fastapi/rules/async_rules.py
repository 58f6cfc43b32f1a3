"""Area 7, async: work that blocks the event loop, and tasks and calls that never end."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass, field
from weakref import WeakKeyDictionary

from production_fastapi.rules._helpers import annotation_names, dotted, has_star_kwargs, is_none, keyword, own_nodes
from production_fastapi.rules.base import DEPRECATION_CONTEXTS, RuleDocs, Violation, file_rule
from production_fastapi.rules.context import FileContext

_BLOCKING_SLEEPS = ("time.sleep",)


@file_rule(
    code="PF702",
    name="blocking-sleep-in-async",
    severity="error",
    message="`time.sleep()` inside `async def` blocks the event loop",
    fix_title="Replace with `await asyncio.sleep()`",
    skill_section="Async",
    template=None,
    requires=("time",),
    fix="production_fastapi.rules.async_rules_fixes:SleepToAsyncioSleep",
    fix_applicability="unsafe",
    docs=RuleDocs(
        what_it_does="Flags `time.sleep()` called directly inside an `async def` (a plain `def` nested inside one is "
        "left alone: it may run in a thread).",
        why="An `async def` endpoint runs on the event loop. `time.sleep()` stops that loop for the whole pause: "
        "every other request the worker is serving, health probes included, waits too. Under load one sleeping "
        "handler turns into timeouts across the service and failed liveness probes that restart the pod.",
        example="""\
import time

from fastapi import FastAPI

app = FastAPI()


@app.post("/jobs")
async def submit_job() -> dict[str, str]:
    time.sleep(0.5)  # back off before polling the queue
    return {"status": "queued"}
""",
        use_instead="""\
import asyncio

from fastapi import FastAPI

app = FastAPI()


@app.post("/jobs")
async def submit_job() -> dict[str, str]:
    await asyncio.sleep(0.5)  # back off before polling the queue
    return {"status": "queued"}
""",
        fix_safety="Unsafe (applied with `--unsafe-fixes`): it rewrites a `time.sleep(...)` statement directly in "
        "the body of an `async def` into `await asyncio.sleep(...)` with the same argument and adds `import "
        "asyncio`. The pause is the same, but other tasks now run during it: code that relied on the blocking "
        "sleep to keep shared state untouched between two steps behaves differently. A call used as a value is "
        "reported but not rewritten.",
    ),
)
def blocking_sleep(ctx: FileContext) -> Iterator[Violation]:
    if not ctx.mentions("async"):
        return  # runs only inside `async def`
    for call in ctx.calls(*_BLOCKING_SLEEPS):
        if not ctx.in_async_function(call):
            continue
        # Only a bare statement can take `await` without changing how the surrounding expression parses.
        statement = isinstance(ctx.parent(call), ast.Expr)
        yield ctx.violation(call, fixable=statement)


# --- shared: what a name holds, from the code around it --------------------------------------------------------


@dataclass(slots=True)
class _ScopeBindings:
    """What one scope binds, read in a single pass: assigned values by name, opaque names, parameters."""

    values: dict[str, list[ast.expr]] = field(default_factory=dict)
    opaque: set[str] = field(default_factory=set)
    params: frozenset[str] = frozenset()


#: Bindings per file and scope, built on first use: rules ask "what does this name hold" for every call of a
#: function, and re-walking the function each time made PF705 the costliest rule on large files.
_BINDINGS: WeakKeyDictionary[FileContext, dict[ast.AST, _ScopeBindings]] = WeakKeyDictionary()


def _scope_bindings(ctx: FileContext, scope: ast.AST) -> _ScopeBindings:
    per_file = _BINDINGS.get(ctx)
    if per_file is None:
        per_file = _BINDINGS[ctx] = {}
    bindings = per_file.get(scope)
    if bindings is not None:
        return bindings
    bindings = _ScopeBindings()
    values = bindings.values
    nodes = own_nodes(scope) if scope is not ctx.tree else _module_level(ctx.tree)
    for node in nodes:
        if isinstance(node, ast.Assign):
            # A name bound twice in one statement (``a = a = x``) holds the value once.
            for target in {t.id for t in node.targets if isinstance(t, ast.Name)}:
                values.setdefault(target, []).append(node.value)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            if node.value is not None:
                values.setdefault(node.target.id, []).append(node.value)
        elif isinstance(node, (ast.For, ast.AsyncFor, ast.With, ast.AsyncWith, ast.NamedExpr, ast.AugAssign)):
            bindings.opaque |= _bound_names(node)
    if isinstance(scope, (ast.FunctionDef, ast.AsyncFunctionDef)):
        args = scope.args
        bindings.params = frozenset(a.arg for a in [*args.posonlyargs, *args.args, *args.kwonlyargs])
    per_file[scope] = bindings
    return bindings


def assigned_values(ctx: FileContext, name: str, at: ast.AST) -> list[ast.expr] | None:
    """Every value assigned to ``name`` in the scope ``at`` sees (its function, else the module).

    None when the name is also bound some way we can't read (loop target, ``with ... as``, parameter without the
    answer): callers then stay silent.
    """
    function = ctx.enclosing_function(at)
    scopes: list[ast.AST] = [function] if function is not None else []
    scopes.append(ctx.tree)
    for scope in scopes:
        bindings = _scope_bindings(ctx, scope)
        if name in bindings.params or name in bindings.opaque:
            return None
        values = bindings.values.get(name)
        if values:
            return list(values)
    return []


def _module_level(tree: ast.Module) -> Iterator[ast.AST]:
    """Module-level statements, looking into ``if``/``try`` blocks but not into functions or classes."""
    stack: list[ast.AST] = list(reversed(tree.body))
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, (ast.If, ast.Try, ast.With)):
            children = [*node.body, *getattr(node, "orelse", []), *getattr(node, "finalbody", [])]
            for handler in getattr(node, "handlers", []):
                children.extend(handler.body)
            stack.extend(reversed(children))


def _bound_names(node: ast.AST) -> set[str]:
    targets: list[ast.AST] = []
    if isinstance(node, (ast.For, ast.AsyncFor)):
        targets = [node.target]
    elif isinstance(node, (ast.With, ast.AsyncWith)):
        targets = [i.optional_vars for i in node.items if i.optional_vars is not None]
    elif isinstance(node, (ast.NamedExpr, ast.AugAssign)):
        targets = [node.target]
    return {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}


def _parameter_annotation(ctx: FileContext, name: str, at: ast.AST) -> ast.expr | None:
    function = ctx.enclosing_function(at)
    if isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
        args = function.args
        for arg in [*args.posonlyargs, *args.args, *args.kwonlyargs]:
            if arg.arg == name:
                return arg.annotation
    return None


def _annotation_is(ctx: FileContext, annotation: ast.expr | None, wanted: frozenset[str]) -> bool:
    return any(ctx.qualified_name(n) in wanted for n in annotation_names(annotation))


# --- PF701 ----------------------------------------------------------------------------------------------------

_HTTP_VERBS = ("get", "post", "put", "patch", "delete", "head", "options", "request", "stream")
BLOCKING_HTTP = frozenset(
    {f"requests.{verb}" for verb in _HTTP_VERBS}
    | {f"httpx.{verb}" for verb in _HTTP_VERBS}
    | {"httpx.Client", "urllib.request.urlopen", "urllib3.request", "requests.api.request"}
)


@file_rule(
    code="PF701",
    name="blocking-http-in-async",
    severity="error",
    message="blocking HTTP call inside `async def` stalls the event loop",
    skill_section="Async",
    template="lifespan.py",
    requires=("requests", "httpx", "urllib", "urllib3"),
    docs=RuleDocs(
        what_it_does="Flags `requests.*`, `httpx.get/post/...`, `httpx.Client` and `urllib.request.urlopen` called "
        "directly inside an `async def` (aliases and `httpx2` included). A plain `def` nested inside, or a function "
        "handed to `asyncio.to_thread`/`run_in_threadpool`, is left alone.",
        why="An HTTP call waits for the network: hundreds of milliseconds, or the full timeout when the remote "
        "end is slow. In an `async def` that wait happens on the event loop, so every other request on the worker "
        "stops too. One slow upstream turns into latency for all endpoints and failing health probes.",
        example='''\
import requests
from fastapi import FastAPI

app = FastAPI()


@app.get("/weather/{city}")
async def weather(city: str) -> dict[str, object]:
    return dict(requests.get(f"https://api.example.com/weather/{city}", timeout=5).json())
''',
        use_instead='''\
import httpx
from fastapi import FastAPI, Request

app = FastAPI()


@app.get("/weather/{city}")
async def weather(city: str, request: Request) -> dict[str, object]:
    client: httpx.AsyncClient = request.app.state.http
    response = await client.get(f"https://api.example.com/weather/{city}")
    return dict(response.json())
''',
    ),
)
def blocking_http(ctx: FileContext) -> Iterator[Violation]:
    if not ctx.mentions("async"):
        return  # runs only inside `async def`
    for call in ctx.calls(*BLOCKING_HTTP):
        if ctx.in_async_function(call):
            name = ctx.qualified_name(call.func) or "call"
            yield ctx.violation(call, f"blocking `{name}()` inside `async def` stalls the event loop: use a shared "
                                "`httpx.AsyncClient` and `await` it")


# --- PF703 ----------------------------------------------------------------------------------------------------

_PATH_CLASSES = frozenset({"pathlib.Path", "pathlib.PosixPath", "pathlib.WindowsPath", "pathlib.PurePath"})
_PATH_IO = frozenset({"read_text", "write_text", "read_bytes", "write_bytes", "open"})
_PATH_DERIVED_METHODS = frozenset({"resolve", "absolute", "with_name", "with_suffix", "with_stem", "joinpath",
                                   "expanduser", "relative_to"})
_PATH_DERIVED_ATTRS = frozenset({"parent"})


def _is_path(ctx: FileContext, node: ast.expr, at: ast.AST, depth: int = 0) -> bool:
    """Whether an expression is a ``pathlib.Path``, as far as the code shows."""
    if depth > 6:
        return False
    if isinstance(node, ast.Call):
        if ctx.qualified_name(node.func) in _PATH_CLASSES:
            return True
        func = node.func
        return (
            isinstance(func, ast.Attribute)
            and func.attr in _PATH_DERIVED_METHODS
            and _is_path(ctx, func.value, at, depth + 1)
        )
    if isinstance(node, ast.Attribute) and node.attr in _PATH_DERIVED_ATTRS:
        return _is_path(ctx, node.value, at, depth + 1)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
        return _is_path(ctx, node.left, at, depth + 1)
    if isinstance(node, ast.Name):
        annotation = _parameter_annotation(ctx, node.id, at)
        if annotation is not None:
            return _annotation_is(ctx, annotation, _PATH_CLASSES)
        values = assigned_values(ctx, node.id, at)
        return bool(values) and all(_is_path(ctx, v, v, depth + 1) for v in values or ())
    return False


@file_rule(
    code="PF703",
    opt_in=(
        "reading a small local file in an async handler is usually harmless; it matters only for large "
        "or remote files"
    ),
    name="blocking-file-io-in-async",
    severity="warning",
    message="blocking file I/O inside `async def`",
    skill_section="Async",
    template=None,
    # Servers only: a CLI that reads a file inside its own `asyncio.run` blocks nobody else.
    requires=("fastapi", "starlette"),
    docs=RuleDocs(
        what_it_does="In FastAPI/Starlette modules, flags `open()` and `pathlib.Path` reads and writes "
        "(`read_text`, `write_text`, `read_bytes`, `write_bytes`, `open`) called directly inside an `async def`. "
        "`anyio.Path`, `anyio.open_file` and work sent to a thread are left alone.",
        why="Disk reads look instant on a laptop; on a network volume, a busy node or a large file they take "
        "milliseconds to seconds, all of it on the event loop, where every other request waits. Read static "
        "files once at startup, or use `anyio`'s async file API / `asyncio.to_thread` per request.",
        example='''\
from fastapi import FastAPI

app = FastAPI()


@app.get("/config")
async def config() -> dict[str, str]:
    with open("config.json") as handle:
        return {"raw": handle.read()}
''',
        use_instead='''\
import anyio
from fastapi import FastAPI

app = FastAPI()


@app.get("/config")
async def config() -> dict[str, str]:
    async with await anyio.open_file("config.json") as handle:
        return {"raw": await handle.read()}
''',
    ),
)
def blocking_file_io(ctx: FileContext) -> Iterator[Violation]:
    if not (ctx.mentions("async") and ctx.mentions("open", "read_", "write_")):
        return
    for call in ctx.nodes(ast.Call):
        if not ctx.in_async_function(call):
            continue
        qualified = ctx.qualified_name(call.func)
        if qualified in ("builtins.open", "io.open"):
            yield ctx.violation(call, "blocking `open()` inside `async def`: use `anyio.open_file` or a thread")
        elif (
            isinstance(call.func, ast.Attribute)
            and call.func.attr in _PATH_IO
            and _is_path(ctx, call.func.value, call)
        ):
            yield ctx.violation(call, f"blocking `Path.{call.func.attr}()` inside `async def`: use `anyio.Path` or "
                                "a thread")


# --- PF704 ----------------------------------------------------------------------------------------------------

BLOCKING_PROCESS = frozenset(
    {f"subprocess.{name}" for name in ("run", "call", "check_call", "check_output", "getoutput", "getstatusoutput")}
    | {"os.system", "os.popen", "os.wait", "os.waitpid"}
)


@file_rule(
    code="PF704",
    name="blocking-subprocess-in-async",
    severity="error",
    message="blocking subprocess call inside `async def`",
    skill_section="Async",
    template=None,
    requires=("subprocess", "os"),
    docs=RuleDocs(
        what_it_does="Flags `subprocess.run/call/check_call/check_output`, `os.system` and `os.popen` called "
        "directly inside an `async def`.",
        why="These wait for the child process to finish: an image conversion or a shell command can take "
        "seconds, and the event loop serves nothing else meanwhile. `asyncio.create_subprocess_exec` waits "
        "without blocking; `asyncio.to_thread` moves an existing call off the loop.",
        example='''\
import subprocess

from fastapi import FastAPI

app = FastAPI()


@app.post("/thumbnails/{name}")
async def thumbnail(name: str) -> None:
    subprocess.run(["convert", name, "-resize", "128x128", f"thumb-{name}"], check=True)
''',
        use_instead='''\
import asyncio

from fastapi import FastAPI

app = FastAPI()


@app.post("/thumbnails/{name}")
async def thumbnail(name: str) -> None:
    process = await asyncio.create_subprocess_exec("convert", name, "-resize", "128x128", f"thumb-{name}")
    await process.wait()
''',
    ),
)
def blocking_subprocess(ctx: FileContext) -> Iterator[Violation]:
    if not ctx.mentions("async"):
        return  # runs only inside `async def`
    for call in ctx.calls(*BLOCKING_PROCESS):
        if ctx.in_async_function(call):
            name = ctx.qualified_name(call.func)
            if name == "os.waitpid" and _polls(ctx, call):
                continue  # os.WNOHANG: returns at once whether or not the child has exited
            yield ctx.violation(call, f"blocking `{name}()` inside `async def`: use "
                                "`asyncio.create_subprocess_exec` or `asyncio.to_thread`")


def _polls(ctx: FileContext, call: ast.Call) -> bool:
    """``os.waitpid(pid, os.WNOHANG)`` (or options combining it): a non-blocking poll."""
    options = call.args[1] if len(call.args) > 1 else keyword(call, "options")
    return options is not None and any(
        ctx.qualified_name(node) == "os.WNOHANG" for node in ast.walk(options) if isinstance(node, ast.expr)
    )


# --- PF705 ----------------------------------------------------------------------------------------------------

SYNC_CONNECT = frozenset(
    {"psycopg2.connect", "sqlite3.connect", "pymysql.connect", "MySQLdb.connect", "psycopg.connect",
     "mysql.connector.connect", "sqlalchemy.create_engine", "sqlalchemy.engine.create_engine"}
)
_SYNC_SESSIONS = frozenset({"sqlalchemy.orm.Session", "sqlalchemy.orm.session.Session", "sqlmodel.Session"})
_SESSIONMAKERS = frozenset({"sqlalchemy.orm.sessionmaker", "sqlalchemy.orm.session.sessionmaker"})
_SESSION_IO = frozenset({"query", "execute", "scalar", "scalars", "get", "commit", "flush", "refresh", "merge",
                         "exec", "connection", "scalar_one", "delete"})
_ENGINE_IO = frozenset({"connect", "begin", "execute", "raw_connection"})


def _sync_factory(ctx: FileContext, name: str, at: ast.AST) -> str | None:
    """'sessionmaker' or 'engine' when ``name`` is bound only to a sync sessionmaker or a sync engine."""
    values = assigned_values(ctx, name, at)
    if not values:
        return None
    kinds: set[str] = set()
    for value in values:
        if not isinstance(value, ast.Call):
            return None
        qualified = ctx.qualified_name(value.func)
        if qualified in _SESSIONMAKERS:
            class_ = keyword(value, "class_")
            if class_ is not None and "Async" in (dotted(class_) or "Async"):
                return None
            kinds.add("sessionmaker")
        elif qualified in ("sqlalchemy.create_engine", "sqlalchemy.engine.create_engine"):
            kinds.add("engine")
        else:
            return None
    return kinds.pop() if len(kinds) == 1 else None


@file_rule(
    code="PF705",
    name="sync-db-driver-in-async",
    severity="error",
    message="synchronous database call inside `async def`",
    skill_section="Async",
    template="database.py",
    requires=("sqlalchemy", "sqlite3", "psycopg2", "psycopg", "pymysql", "MySQLdb", "mysql", "sqlmodel"),
    docs=RuleDocs(
        what_it_does="Inside `async def`, flags sync driver connections (`psycopg2.connect`, `sqlite3.connect`, "
        "`pymysql.connect`...), sync SQLAlchemy engines and sessions (`create_engine`, `Session(...)`, a "
        "`sessionmaker()` without `AsyncSession`), and queries on a parameter typed as a sync `Session`.",
        why="A sync driver holds the event loop for the whole round trip to the database: with a 20 ms query, one "
        "worker serves at most 50 requests per second in total, and a slow query freezes every endpoint. Either "
        "use the async engine (`create_async_engine`, `AsyncSession`) or declare the endpoint with plain `def` so "
        "FastAPI runs it in the threadpool.",
        example='''\
from typing import Annotated

from fastapi import Depends, FastAPI
from sqlalchemy import text
from sqlalchemy.orm import Session

from app.db import get_db

app = FastAPI()


@app.get("/counts")
async def counts(db: Annotated[Session, Depends(get_db)]) -> int:
    return int(db.execute(text("SELECT count(*) FROM users")).scalar_one())
''',
        use_instead='''\
from typing import Annotated

from fastapi import Depends, FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import get_session

app = FastAPI()


@app.get("/counts")
async def counts(session: Annotated[AsyncSession, Depends(get_session)]) -> int:
    return int((await session.execute(text("SELECT count(*) FROM users"))).scalar_one())
''',
    ),
)
def sync_db_driver(ctx: FileContext) -> Iterator[Violation]:
    if not ctx.mentions("async"):
        return  # runs only inside `async def`
    if not ctx.may_call(*SYNC_CONNECT, *_SYNC_SESSIONS):
        return
    for call in ctx.nodes(ast.Call):
        if not ctx.in_async_function(call):
            continue
        qualified = ctx.qualified_name(call.func)
        if qualified in SYNC_CONNECT or qualified in _SYNC_SESSIONS:
            yield ctx.violation(call, f"synchronous `{qualified}()` inside `async def` blocks the event loop")
            continue
        func = call.func
        if isinstance(func, ast.Name) and _sync_factory(ctx, func.id, call) == "sessionmaker":
            yield ctx.violation(call, f"`{func.id}()` opens a synchronous session inside `async def`")
        elif isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
            if isinstance(ctx.parent(call), ast.Await):
                continue  # awaited: an async session whatever the annotation claims
            receiver = func.value.id
            annotation = _parameter_annotation(ctx, receiver, call)
            if func.attr in _SESSION_IO and annotation is not None and _annotation_is(ctx, annotation,
                                                                                      _SYNC_SESSIONS):
                yield ctx.violation(call, f"`{receiver}.{func.attr}()` on a synchronous `Session` inside "
                                    "`async def`: use `AsyncSession` or a plain `def` endpoint")
            elif func.attr in _ENGINE_IO and annotation is None and _sync_factory(ctx, receiver, call) == "engine":
                yield ctx.violation(call, f"`{receiver}.{func.attr}()` on a synchronous engine inside `async def`")


# --- PF706 ----------------------------------------------------------------------------------------------------

_HTTPX_CLIENTS = frozenset({"httpx.AsyncClient", "httpx.Client"})
_REDIS_CLIENTS = frozenset(
    {"redis.asyncio.from_url", "redis.asyncio.Redis", "redis.asyncio.Redis.from_url", "redis.asyncio.client.Redis",
     "redis.asyncio.StrictRedis", "redis.Redis", "redis.Redis.from_url", "redis.from_url", "redis.StrictRedis",
     "redis.asyncio.ConnectionPool", "redis.ConnectionPool", "redis.asyncio.BlockingConnectionPool"}
)
_REQUESTS_CALLS = frozenset(f"requests.{verb}" for verb in ("get", "post", "put", "patch", "delete", "head",
                                                             "options", "request"))


def _no_timeout(ctx: FileContext, value: ast.expr | None) -> bool:
    """``None``, or ``httpx.Timeout(None)`` with no phase bounded."""
    if is_none(value):
        return True
    if isinstance(value, ast.Call) and ctx.qualified_name(value.func) == "httpx.Timeout":
        first = value.args[0] if value.args else keyword(value, "timeout")
        phases = [kw for kw in value.keywords if kw.arg in ("connect", "read", "write", "pool")]
        return is_none(first) and all(is_none(kw.value) for kw in phases) and len(value.args) <= 1
    return False


def _httpx_client(ctx: FileContext, receiver: ast.expr, at: ast.AST) -> bool:
    """Whether a receiver is an httpx client: assigned from one, entered with ``async with``, or annotated so."""
    if ctx.qualified_name(receiver) == "httpx":
        return True
    if not isinstance(receiver, ast.Name):
        return False
    annotation = _parameter_annotation(ctx, receiver.id, at)
    if annotation is not None:
        return _annotation_is(ctx, annotation, _HTTPX_CLIENTS)
    function = ctx.enclosing_function(at)
    scope: ast.AST = function if function is not None else ctx.tree
    for node in ast.walk(scope):
        if isinstance(node, (ast.With, ast.AsyncWith)):
            for item in node.items:
                if (
                    isinstance(item.optional_vars, ast.Name)
                    and item.optional_vars.id == receiver.id
                    and isinstance(item.context_expr, ast.Call)
                    and ctx.qualified_name(item.context_expr.func) in _HTTPX_CLIENTS
                ):
                    return True
    values = assigned_values(ctx, receiver.id, at)
    return bool(values) and all(
        isinstance(v, ast.Call) and ctx.qualified_name(v.func) in _HTTPX_CLIENTS for v in values or ()
    )


@file_rule(
    code="PF706",
    name="call-without-timeout",
    severity="warning",
    message="outbound call without a timeout",
    skill_section="Async",
    template="lifespan.py",
    requires=("httpx", "redis", "aiohttp", "requests"),
    docs=RuleDocs(
        what_it_does="Flags `timeout=None` (or `httpx.Timeout(None)`) on httpx clients and requests, "
        "`socket_timeout=None` on Redis clients, an `aiohttp.ClientTimeout()` that leaves out both `total` and "
        "`sock_read` (every field defaults to no limit; an explicit `total=None` is taken as meant), an "
        "`aiohttp.ClientSession()` without `timeout=` that fetches URLs read from data (`session.get(item.url)`), "
        "and `requests` calls without `timeout=` (its default is none at all). httpx's 5-second default, redis-py "
        "8's 5-second socket timeout and an aiohttp session's own 5-minute default for URLs the code spells are "
        "left alone: bounded, if generous.",
        why="A dependency that accepts the connection and never answers holds the request, its worker slot and a "
        "pooled connection forever. Under load the pool empties, every new request waits for a connection, and "
        "one hung upstream takes the whole service down with it.",
        example='''\
import httpx

client = httpx.AsyncClient(timeout=None)
''',
        use_instead='''\
import httpx

client = httpx.AsyncClient(timeout=httpx.Timeout(10.0, connect=5.0))
''',
    ),
)
def call_without_timeout(ctx: FileContext) -> Iterator[Violation]:
    for call in ctx.nodes(ast.Call):
        qualified = ctx.qualified_name(call.func)
        timeout = keyword(call, "timeout")
        if qualified != "httpx.Timeout" and (qualified or "").startswith("httpx."):
            if timeout is not None and _no_timeout(ctx, timeout):
                yield ctx.violation(call, "`timeout=None` disables httpx's timeouts: a hung upstream holds the "
                                    "request forever")
        elif qualified in _REDIS_CLIENTS:
            if is_none(keyword(call, "socket_timeout")):
                yield ctx.violation(call, "`socket_timeout=None` lets a stalled Redis hold the request forever")
        elif qualified == "aiohttp.ClientSession":
            if timeout is None and not has_star_kwargs(call) and _fetches_urls_from_data(call, ctx):
                yield ctx.violation(call, "`aiohttp.ClientSession()` without `timeout=` fetches a URL taken from "
                                    "data: a slow host someone else chose holds the request up to 5 minutes")
        elif qualified == "aiohttp.ClientTimeout":
            # Every field defaults to None (no limit); a session without `timeout=` gets 5 minutes instead. An
            # explicit `total=None` is a decision (a long stream), not an oversight: only the implicit one is news.
            total = keyword(call, "total") if not call.args else call.args[0]
            if not has_star_kwargs(call) and total is None and keyword(call, "sock_read") is None:
                yield ctx.violation(call, "`aiohttp.ClientTimeout()` without `total` or `sock_read` lets a read "
                                    "wait forever")
        elif qualified in _REQUESTS_CALLS:
            if timeout is None and not has_star_kwargs(call):
                yield ctx.violation(call, f"`{qualified}()` without `timeout=` can wait forever")
            elif is_none(timeout):
                yield ctx.violation(call, f"`{qualified}(timeout=None)` can wait forever")
        elif (
            isinstance(call.func, ast.Attribute)
            and call.func.attr in (*_HTTP_VERBS, "send")
            and timeout is not None
            and _no_timeout(ctx, timeout)
            and _httpx_client(ctx, call.func.value, call)
        ):
            yield ctx.violation(call, "`timeout=None` disables the client's timeout for this request")


def _fetches_urls_from_data(session: ast.Call, ctx: FileContext) -> bool:
    """``async with aiohttp.ClientSession() as s: s.get(element.url)``: a request whose URL is read from an object or
    a mapping (a record, a message, user input), not written in the code. Calls to the service's own upstreams,
    whose URLs the code spells, are left to the session's 5-minute default."""
    for ancestor in ctx.ancestors(session):
        if isinstance(ancestor, ast.AsyncWith):
            item = next((i for i in ancestor.items if i.context_expr is session), None)
            if item is None or not isinstance(item.optional_vars, ast.Name):
                return False
            name = item.optional_vars.id
            requests = [
                node
                for statement in ancestor.body
                for node in ast.walk(statement)
                if isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id == name
                and node.func.attr in _HTTP_VERBS
            ]
            # A request that passes its own `timeout=` never falls back to the session's default.
            return any(
                keyword(request, "timeout") is None and request.args and _read_from_data(request.args[0])
                for request in requests
            )
    return False


def _read_from_data(url: ast.expr) -> bool:
    """``element.url``, ``item["url"]``, ``self.webhook_url``: read from an object or a mapping, not spelled in
    the call."""
    return isinstance(url, (ast.Attribute, ast.Subscript))


# --- PF707 ----------------------------------------------------------------------------------------------------

_TASK_FACTORIES = frozenset({"asyncio.create_task", "asyncio.ensure_future"})
_LOOP_GETTERS = frozenset({"asyncio.get_running_loop", "asyncio.get_event_loop", "asyncio.new_event_loop"})


@file_rule(
    code="PF707",
    opt_in="judged debatable on unseen code: a task waiting on a timer or future stays referenced by the loop",
    name="dangling-task",
    severity="warning",
    message="task created and dropped: keep a reference until it finishes",
    skill_section="Async",
    template="lifespan.py",
    requires=("asyncio",),
    docs=RuleDocs(
        what_it_does="Flags `asyncio.create_task(...)`, `asyncio.ensure_future(...)` and `loop.create_task(...)` "
        "used as a bare statement, the returned task discarded. `TaskGroup.create_task` is left alone: the group "
        "keeps its tasks; so is a coroutine of the same file that never awaits (it finishes in its first step).",
        why="The event loop keeps only a weak reference to tasks: a task nobody references can be garbage-"
        "collected mid-flight and silently vanish. Its exceptions are never retrieved (only a log line at "
        "collection time), and shutdown doesn't wait for it, so the work is cut off on every deploy.",
        example='''\
import asyncio

from fastapi import FastAPI

from app.mail import send_welcome

app = FastAPI()


@app.post("/signup")
async def signup(email: str) -> dict[str, str]:
    asyncio.create_task(send_welcome(email))
    return {"status": "ok"}
''',
        use_instead='''\
from fastapi import BackgroundTasks, FastAPI

from app.mail import send_welcome

app = FastAPI()


@app.post("/signup")
async def signup(email: str, tasks: BackgroundTasks) -> dict[str, str]:
    tasks.add_task(send_welcome, email)
    return {"status": "ok"}
''',
    ),
)
def dangling_task(ctx: FileContext) -> Iterator[Violation]:
    if not ctx.mentions("create_task", "ensure_future"):
        return
    for statement in ctx.nodes(ast.Expr):
        call = statement.value
        if not isinstance(call, ast.Call):
            continue
        if _creates_a_task(ctx, call) and not _never_suspends(ctx, call):
            yield ctx.violation(call)


def _creates_a_task(ctx: FileContext, call: ast.Call) -> bool:
    """``asyncio.create_task(...)``, ``asyncio.ensure_future(...)``, or ``loop.create_task(...)`` on a loop."""
    if ctx.qualified_name(call.func) in _TASK_FACTORIES:
        return True
    func = call.func
    if not (isinstance(func, ast.Attribute) and func.attr == "create_task" and isinstance(func.value, ast.Name)):
        return False
    values = assigned_values(ctx, func.value.id, call)
    return bool(values) and all(
        isinstance(v, ast.Call) and ctx.qualified_name(v.func) in _LOOP_GETTERS for v in values or ()
    )


def _never_suspends(ctx: FileContext, task: ast.Call) -> bool:
    """The task runs a coroutine of this file (called by name, or as a method of ``self``) that never awaits: it
    runs to its end in its first step, so there is no moment at which it could be collected half-way."""
    coroutine = task.args[0] if task.args else None
    if not isinstance(coroutine, ast.Call):
        return False
    func = coroutine.func
    if isinstance(func, ast.Name):
        name = func.id
    elif isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id in ("self", "cls"):
        name = func.attr
    else:
        return False
    defined = [f for f in ctx.nodes(ast.AsyncFunctionDef) if f.name == name]
    return len(defined) == 1 and not any(
        isinstance(node, (ast.Await, ast.AsyncFor, ast.AsyncWith)) for node in own_nodes(defined[0])
    )


# --- PF708 ----------------------------------------------------------------------------------------------------

#: What each aioredis module is called in redis-py, which absorbed aioredis 2's API as ``redis.asyncio``.
AIOREDIS_MODULES = {"aioredis": "redis.asyncio", "aioredis.client": "redis.asyncio.client",
                    "aioredis.exceptions": "redis.exceptions", "aioredis.connection": "redis.asyncio.connection"}


@file_rule(
    code="PF708",
    contexts=DEPRECATION_CONTEXTS,
    name="aioredis-import",
    severity="error",
    message="`aioredis` is abandoned: use `redis.asyncio`",
    fix_title="Import from `redis.asyncio` instead",
    skill_section="Async",
    template="lifespan.py",
    requires=("aioredis",),
    fix="production_fastapi.rules.async_rules_fixes:AioredisToRedisAsyncio",
    fix_applicability="unsafe",
    versions="redis>=4.2",
    docs=RuleDocs(
        what_it_does="Flags imports of `aioredis` and its submodules.",
        why="aioredis has had no release since 2021; its code moved into redis-py as `redis.asyncio`. Version 2.0.1 "
        "fails to import on Python 3.11 and later (`TypeError: duplicate base class TimeoutError`), so a service "
        "that still depends on it crashes at startup after a routine base-image upgrade.",
        example='''\
import aioredis

cache = aioredis.from_url("redis://cache:6379/0")
''',
        use_instead='''\
import redis.asyncio as aioredis

cache = aioredis.from_url("redis://cache:6379/0")
''',
        fix_safety="Unsafe (applied with `--unsafe-fixes`): aioredis 1.x has another API (`create_redis_pool`, "
        "`execute`), and the fix needs `redis>=4.2` installed. For `import aioredis` "
        "(rewritten to `import redis.asyncio as aioredis`, so every use keeps "
        "its spelling) and `from aioredis[.client|.exceptions|.connection] import ...`: redis-py's asyncio client "
        "kept aioredis 2's names (`Redis`, `from_url`, `ConnectionPool`, the exceptions). Close clients with "
        "`await client.aclose()` afterwards. `import aioredis.x` forms are only reported.",
    ),
)
def aioredis_import(ctx: FileContext) -> Iterator[Violation]:
    for node in ctx.nodes(ast.Import):
        for alias in node.names:
            if alias.name == "aioredis" or alias.name.startswith("aioredis."):
                yield ctx.violation(node, fixable=len(node.names) == 1 and alias.name == "aioredis")
    for imported in ctx.nodes(ast.ImportFrom):
        if imported.level == 0 and imported.module and imported.module.partition(".")[0] == "aioredis":
            yield ctx.violation(imported, fixable=imported.module in AIOREDIS_MODULES)
