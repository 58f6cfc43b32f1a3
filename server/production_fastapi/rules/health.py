"""Area 3, health checks: a liveness probe that only says "the process answers" and a bounded readiness probe."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from production_fastapi.rules._apps import SERVICE_GATE, segments, service_apps
from production_fastapi.rules._helpers import dotted, own_nodes, routes
from production_fastapi.rules.base import RuleDocs, Violation, file_rule, project_rule
from production_fastapi.rules.context import FileContext, ProjectContext

#: Last path segments that name a liveness endpoint (``/health`` and ``/healthz`` are often both: they count here).
LIVENESS = frozenset({"live", "livez", "liveness", "alive", "health", "healthz", "healthcheck", "health-check", "ping",
                      "heartbeat", "status"})
#: The unambiguous ones: a handler at one of these is a liveness probe and nothing else.
STRICT_LIVENESS = frozenset({"live", "livez", "liveness", "alive"})
READINESS = frozenset({"ready", "readyz", "readiness"})

_TIMEOUT_CONTEXTS = frozenset(
    {
        "asyncio.timeout",
        "asyncio.timeout_at",
        "anyio.fail_after",
        "anyio.move_on_after",
        "async_timeout.timeout",
        "trio.fail_after",
        "trio.move_on_after",
    }
)
#: Client methods that talk to a database, a cache or an HTTP service.
_IO_METHODS = frozenset(
    {"execute", "exec_driver_sql", "scalar", "scalars", "scalar_one", "fetch", "fetchrow", "fetchval", "fetchone",
     "fetchall", "ping", "get", "post", "head", "request", "send", "connect", "begin", "acquire", "info", "exists",
     "command", "publish", "stream", "cursor", "run_sync"}
)
#: Awaiting these bounds or combines other awaits: judged by what they wrap, not reported themselves.
_LOOP_HELPERS = ("asyncio.", "anyio.", "trio.")


#: Words that make sense as a probe only at the top level or under a health prefix (``/vertex_ai/live`` is a
#: websocket, ``/jobs/ready`` a listing).
_BARE_WORDS = frozenset({"live", "ready", "status", "ping", "alive"})
_HEALTH_PREFIXES = frozenset({"health", "healthz", "healthcheck", "health-check", "probe", "probes", "_health", "k8s",
                              "internal", "-", "system", "monitoring", "meta"})


def _last_segment(path: str) -> str:
    """The probe word a path ends in, or "" when the path is not shaped like a probe."""
    parts = [p.lstrip("_").lower() for p in segments(path)]
    if not parts or any(p.startswith("{") for p in parts):
        return ""
    last = parts[-1]
    if last in _BARE_WORDS and len(parts) > 1 and parts[-2] not in _HEALTH_PREFIXES:
        return ""
    return last


# --- PF301 / PF302 --------------------------------------------------------------------------------------------


def _missing_probe(project: ProjectContext, wanted: frozenset[str]) -> Iterator[tuple[FileContext, ast.AST]]:
    for app in service_apps(project):
        if app.routes_unknown:
            continue
        paths = [r.path for r in app.routes() if r.route.methods != ("WEBSOCKET",)]
        paths += app.called_route_paths()
        if any(path is not None and _last_segment(path) in wanted for path in paths):
            continue
        if any(path is None for path in paths):
            continue  # a computed path may be the probe
        yield app.ctx, app.call


@project_rule(
    code="PF301",
    opt_in="deployment: only where an orchestrator calls it; workers that report to a controller, sidecars, "
    "desktop apps need none; code cannot say how it is deployed",
    name="missing-liveness-probe",
    severity="warning",
    message="app defines no liveness route (`/health/live`)",
    skill_section="Health checks",
    template="health_checks.py",
    requires=SERVICE_GATE,
    docs=RuleDocs(
        what_it_does="Follows each `FastAPI()` app through `include_router` across the project and reports it when "
        "no route ends in `live`, `livez`, `health`, `healthz` or `ping`. Silent when a router comes from outside "
        "the project, a sub-app is mounted, or the app is handed to code it cannot read.",
        why="Without a liveness endpoint the orchestrator can only watch the process, not whether it still answers: "
        "a worker stuck on a deadlock or a blocked event loop keeps receiving traffic until someone notices. "
        "Kubernetes, load balancers and uptime checks all need a cheap URL that says \"this process answers\".",
        example='''\
from fastapi import FastAPI

app = FastAPI(title="orders")


@app.get("/orders")
async def list_orders() -> list[str]:
    return []
''',
        use_instead='''\
from fastapi import FastAPI

app = FastAPI(title="orders")


@app.get("/health/live")
async def live() -> dict[str, str]:
    return {"status": "ok"}


@app.get("/health/ready")
async def ready() -> dict[str, str]:
    return {"status": "ok"}
''',
    ),
)
def missing_liveness_probe(project: ProjectContext) -> Iterator[Violation]:
    for ctx, call in _missing_probe(project, LIVENESS):
        yield ctx.violation(call)


@project_rule(
    code="PF302",
    opt_in="deployment: only where an orchestrator calls it; workers that report to a controller, sidecars, "
    "desktop apps need none; code cannot say how it is deployed",
    name="missing-readiness-probe",
    severity="warning",
    message="app defines no readiness route (`/health/ready`)",
    skill_section="Health checks",
    template="health_checks.py",
    requires=SERVICE_GATE,
    docs=RuleDocs(
        what_it_does="Follows each `FastAPI()` app through `include_router` across the project and reports it when "
        "no route ends in `ready`, `readyz` or `readiness`. Silent when it cannot see every route.",
        why="Readiness tells the orchestrator when to send traffic: after startup has connected to the database, "
        "and not while a dependency is down or the pod is shutting down. Without it a rolling deploy routes "
        "requests to pods that are still starting, and every dependency outage becomes a wall of 500s instead "
        "of traffic moving to healthy pods.",
        example='''\
from fastapi import FastAPI

app = FastAPI(title="orders")


@app.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}
''',
        use_instead='''\
from fastapi import FastAPI

app = FastAPI(title="orders")


@app.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@app.get("/readyz")
async def readyz() -> dict[str, str]:
    return {"status": "ok"}
''',
    ),
)
def missing_readiness_probe(project: ProjectContext) -> Iterator[Violation]:
    for ctx, call in _missing_probe(project, READINESS):
        yield ctx.violation(call)


# --- PF303 / PF304 --------------------------------------------------------------------------------------------


def _awaited_calls(ctx: FileContext, function: ast.AST) -> Iterator[tuple[ast.AST, ast.Call]]:
    """(reported node, call) for each ``await call`` and each ``async with call`` item in the function's own body."""
    for node in own_nodes(function):
        if isinstance(node, ast.Await) and isinstance(node.value, ast.Call):
            yield node, node.value
        elif isinstance(node, ast.AsyncWith):
            for item in node.items:
                if isinstance(item.context_expr, ast.Call):
                    yield item.context_expr, item.context_expr


def _is_loop_helper(ctx: FileContext, call: ast.Call) -> bool:
    qualified = ctx.qualified_name(call.func) or ""
    return qualified.startswith(_LOOP_HELPERS)


@file_rule(
    code="PF303",
    name="liveness-checks-dependencies",
    severity="warning",
    message="liveness probe awaits a dependency: a database outage will restart every pod",
    skill_section="Health checks",
    template="health_checks.py",
    requires=("fastapi",),
    docs=RuleDocs(
        what_it_does="In a handler at a liveness path (`/live`, `/livez`, `/liveness`, `/alive`), flags every "
        "`await` and `async with` on a database, cache or HTTP call.",
        why="Kubernetes restarts a container whose liveness probe fails. If liveness checks the database, one "
        "database blip fails the probe on every pod at once and the orchestrator restarts the whole fleet: a "
        "short dependency outage becomes a full outage, and the restarts hammer the recovering database. "
        "Dependencies belong in readiness, which only takes a pod out of the load balancer.",
        example='''\
from fastapi import APIRouter, Request

router = APIRouter()


@router.get("/health/live")
async def live(request: Request) -> dict[str, str]:
    await request.app.state.redis.ping()
    return {"status": "ok"}
''',
        use_instead='''\
from fastapi import APIRouter

router = APIRouter()


@router.get("/health/live")
async def live() -> dict[str, str]:
    return {"status": "ok"}
''',
    ),
)
def liveness_checks_dependencies(ctx: FileContext) -> Iterator[Violation]:
    for route in routes(ctx):
        if route.method == "websocket" or _last_segment(route.path) not in STRICT_LIVENESS:
            continue
        for reported, call in _awaited_calls(ctx, route.function):
            if not _is_loop_helper(ctx, call):
                yield ctx.violation(reported)


def _shared_names(ctx: FileContext) -> set[str]:
    """Names the module binds at its top level, by import or assignment (``from app.db import engine``,
    ``redis = Redis.from_url(...)``): clients shared by every request, as much the handler's dependencies as its
    parameters are."""
    names: set[str] = set()
    for statement in ctx.tree.body:
        if isinstance(statement, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).partition(".")[0] for a in statement.names if a.name != "*")
        elif isinstance(statement, ast.Assign):
            names.update(t.id for t in statement.targets if isinstance(t, ast.Name))
        elif isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name):
            names.add(statement.target.id)
    return names


def _dependency_names(function: ast.FunctionDef | ast.AsyncFunctionDef, shared: set[str]) -> set[str]:
    """The handler's parameters and the module's shared clients, and names it binds from them
    (``async with engine.connect() as conn``, ``redis = request.app.state.redis``)."""
    args = function.args
    names = {a.arg for a in [*args.posonlyargs, *args.args, *args.kwonlyargs]} | shared
    changed = True
    while changed:
        changed = False
        for node in own_nodes(function):
            bound: list[tuple[ast.AST, ast.AST]] = []
            if isinstance(node, (ast.With, ast.AsyncWith)):
                bound = [(i.optional_vars, i.context_expr) for i in node.items if i.optional_vars is not None]
            elif isinstance(node, ast.Assign):
                bound = [(t, node.value) for t in node.targets]
            for target, value in bound:
                source = value.func.value if isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute) \
                    else value.value if isinstance(value, ast.Await) else value
                root = (dotted(source) or "").partition(".")[0]
                if isinstance(target, ast.Name) and root in names and target.id not in names:
                    names.add(target.id)
                    changed = True
    return names


def _under_timeout(ctx: FileContext, node: ast.AST, function: ast.AST) -> bool:
    """Whether an ``async with asyncio.timeout(...)`` (or anyio's) inside ``function`` bounds ``node``."""
    child = node
    for ancestor in ctx.ancestors(node):
        if ancestor is function:
            return False
        if isinstance(ancestor, ast.AsyncWith):
            items = ancestor.items
            in_items = [i for i, item in enumerate(items) if item.context_expr is child]
            considered = items[: in_items[0]] if in_items else items
            for item in considered:
                expr = item.context_expr
                if isinstance(expr, ast.Call) and ctx.qualified_name(expr.func) in _TIMEOUT_CONTEXTS:
                    return True
        child = ancestor
    return False


@file_rule(
    code="PF304",
    name="readiness-check-without-timeout",
    severity="warning",
    message="readiness check awaits a dependency with no timeout around it",
    skill_section="Health checks",
    template="health_checks.py",
    requires=("fastapi",),
    docs=RuleDocs(
        what_it_does="In a handler at a readiness path (`/ready`, `/readyz`, `/readiness`), flags database, cache "
        "and HTTP client calls on the handler's dependencies (`await conn.execute(...)`, `await redis.ping()`, "
        "`async with engine.connect()`) that no `asyncio.timeout()`, `anyio.fail_after()` or `asyncio.wait_for()` "
        "bounds. The project's own helpers and methods are left alone: the timeout may live there.",
        why="Kubernetes gives a probe 1 second by default. A check that hangs on a half-dead database outlives the "
        "probe, piles up concurrent probe requests and connections on the stuck dependency, and reports nothing "
        "useful. Bound each check below the probe's timeout and run them concurrently.",
        example='''\
from fastapi import APIRouter, Request

router = APIRouter()


@router.get("/health/ready")
async def ready(request: Request) -> dict[str, str]:
    await request.app.state.redis.ping()
    return {"status": "ready"}
''',
        use_instead='''\
import asyncio

from fastapi import APIRouter, Request

router = APIRouter()


@router.get("/health/ready")
async def ready(request: Request) -> dict[str, str]:
    async with asyncio.timeout(0.8):
        await request.app.state.redis.ping()
    return {"status": "ready"}
''',
    ),
)
def readiness_check_without_timeout(ctx: FileContext) -> Iterator[Violation]:
    for route in routes(ctx):
        if route.method == "websocket" or _last_segment(route.path) not in READINESS:
            continue
        dependencies = _dependency_names(route.function, _shared_names(ctx))
        for reported, call in _awaited_calls(ctx, route.function):
            if not isinstance(call.func, ast.Attribute) or _is_loop_helper(ctx, call):
                continue
            if call.func.attr not in _IO_METHODS:
                continue  # a project method (`db.is_connectable()`) may carry its own timeout
            receiver = dotted(call.func.value)
            # Only a dependency the handler holds (a parameter, a client the module shares, or what it opened from
            # one) is known to be I/O; `checks.run()` on the project's own registry may well bound each check inside.
            if receiver is None or receiver.partition(".")[0] not in dependencies:
                continue
            if not _under_timeout(ctx, reported, route.function):
                yield ctx.violation(reported)
