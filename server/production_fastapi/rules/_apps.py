"""The apps and routers of a project, as far as the code proves them: routes, included routers, exception handlers.

Project rules about something *missing* (no liveness probe, no problem handlers, no rate limit on login) may only
speak when they have seen everything that could add it. So every ``FastAPI()``/``APIRouter()`` object records what
it could not follow: a router included from outside the project, a sub-application mounted, the object handed to
a function we cannot read. Such an object is ``opaque`` and those rules stay silent about it.

The app is followed through ``include_router`` (across files, by import), through project functions it is passed
to (``install_error_handlers(app)``, a few levels deep), and through routes registered with decorators or
``add_api_route`` wherever the object is visible (``from app.main import app`` in another module counts).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property

from production_fastapi.rules._helpers import dotted, function_nodes, keyword, route_of, string_value
from production_fastapi.rules.context import FileContext, ProjectContext

__all__ = ["AppObject", "Project", "RouteRef", "project_apps"]

APP_FACTORIES = frozenset({"fastapi.FastAPI", "fastapi.applications.FastAPI"})
ROUTER_FACTORIES = frozenset({"fastapi.APIRouter", "fastapi.routing.APIRouter"})
_ROUTE_METHODS = frozenset({"add_api_route", "add_route", "add_api_websocket_route", "add_websocket_route"})
#: Calls that receive an app without adding routes or handlers to it.
_HARMLESS_RECEIVERS = frozenset({"uvicorn.run", "uvicorn.Config", "uvicorn.config.Config"})
_MAX_DELEGATION_ROUNDS = 6

Scope = ast.FunctionDef | ast.AsyncFunctionDef | None


@dataclass(eq=False)
class RouteRef:
    """A route registered on an object: the handler (when defined by decorator), its own path and the call."""

    ctx: FileContext
    path: str
    node: ast.AST
    function: ast.FunctionDef | ast.AsyncFunctionDef | None
    decorator: ast.Call | None


@dataclass(eq=False)
class Include:
    child: AppObject
    prefix: str
    call: ast.Call


@dataclass(eq=False)
class AppObject:
    """One ``FastAPI()`` or ``APIRouter()`` instance."""

    ctx: FileContext
    call: ast.Call
    kind: str  # "app" | "router"
    name: str
    prefix: str = ""
    routes: list[RouteRef] = field(default_factory=list)
    includes: list[Include] = field(default_factory=list)
    #: Something could add routes or handlers that the code does not show.
    opaque: bool = False
    #: Qualified names of the exception classes with a handler (``builtins.Exception``, ``500``...).
    handlers: set[str] = field(default_factory=set)
    #: ``dependencies=[...]`` and include-level dependencies: expressions the rate-limit rule inspects.
    dependencies: list[ast.expr] = field(default_factory=list)
    #: Mounted inside another app (``parent.mount("/ui", this)``): the parent serves the probes and errors.
    mounted: bool = False
    #: Middleware classes added (``add_middleware`` first argument, ``Middleware(...)`` entries) as expressions.
    middleware: list[ast.expr] = field(default_factory=list)

    def walk(self, prefix: str = "", seen: frozenset[int] = frozenset()) -> Iterator[tuple[str, RouteRef, AppObject]]:
        """Every route reachable from this object, with its full path and the object it is registered on."""
        if id(self) in seen:
            return
        seen = seen | {id(self)}
        own = prefix + self.prefix
        for route in self.routes:
            yield own + route.path, route, self
        for include in self.includes:
            yield from include.child.walk(own + include.prefix, seen)

    def reachable(self, seen: frozenset[int] = frozenset()) -> Iterator[AppObject]:
        if id(self) in seen:
            return
        yield self
        for include in self.includes:
            yield from include.child.reachable(seen | {id(self)})

    @property
    def fully_known(self) -> bool:
        """Nothing reachable from here is opaque: the routes seen are all the routes there are."""
        return not any(obj.opaque for obj in self.reachable())


def is_test_file(ctx: FileContext) -> bool:
    """Test code builds throwaway apps; judge by the module name (relative to the project), else the file name."""
    if ctx.module:
        parts = ctx.module.split(".")
        packages, name = parts[:-1], parts[-1]
    else:
        packages, name = [], ctx.path.replace("\\", "/").rpartition("/")[2].removesuffix(".py")
    return (
        "tests" in packages
        or "test" in packages
        or name.startswith("test_")
        or name.endswith("_test")
        or name == "conftest"
    )


class Project:
    """The app/router objects of a project and everything the code does to them."""

    def __init__(self, project: ProjectContext) -> None:
        self.project = project
        self.objects: dict[tuple[str, int, str], AppObject] = {}
        self._by_qualified: dict[str, AppObject] = {}
        self._functions: dict[str, tuple[FileContext, ast.FunctionDef | ast.AsyncFunctionDef]] = {}
        #: (file path, function node id, parameter name) -> objects bound to that parameter by some call.
        self._bound: dict[tuple[str, int, str], set[int]] = {}
        self._by_id: dict[int, AppObject] = {}
        #: Test modules are left out: they build throwaway apps and hand the real one to test clients.
        self.code_files = [ctx for ctx in project.files if not is_test_file(ctx)]
        self._build()

    # --- construction ------------------------------------------------------------------------------------------

    def _scope(self, ctx: FileContext, node: ast.AST) -> Scope:
        function = ctx.enclosing_function(node)
        return function if isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)) else None

    def _register_objects(self, ctx: FileContext) -> None:
        assignments: list[ast.Assign | ast.AnnAssign] = [*ctx.nodes(ast.Assign), *ctx.nodes(ast.AnnAssign)]
        for node in assignments:
            value = node.value
            if not isinstance(value, ast.Call):
                continue
            qualified = ctx.qualified_name(value.func)
            kind = "app" if qualified in APP_FACTORIES else "router" if qualified in ROUTER_FACTORIES else None
            if kind is None:
                continue
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if not isinstance(target, ast.Name):
                    continue
                scope = self._scope(ctx, node)
                obj = AppObject(ctx, value, kind, target.id, prefix=string_value(keyword(value, "prefix")) or "")
                if keyword(value, "prefix") is not None and string_value(keyword(value, "prefix")) is None:
                    obj.opaque = True  # a computed prefix: paths can't be known
                if keyword(value, "routes") is not None:
                    obj.opaque = True
                deps = keyword(value, "dependencies")
                if deps is not None:
                    obj.dependencies.append(deps)
                handlers = keyword(value, "exception_handlers")
                if isinstance(handlers, ast.Dict):
                    for key in handlers.keys:
                        obj.handlers.add(self._exception_key(ctx, key))
                elif handlers is not None:
                    obj.opaque = True
                middleware = keyword(value, "middleware")
                if isinstance(middleware, (ast.List, ast.Tuple)):
                    for entry in middleware.elts:
                        if isinstance(entry, ast.Call) and entry.args:
                            obj.middleware.append(entry.args[0])
                self.objects[(ctx.path, id(scope) if scope else 0, target.id)] = obj
                self._by_id[id(obj)] = obj
                if scope is None and ctx.module:
                    self._by_qualified[f"{ctx.module}.{target.id}"] = obj

    def _exception_key(self, ctx: FileContext, node: ast.AST | None) -> str:
        if isinstance(node, ast.Constant) and isinstance(node.value, int):
            return str(node.value)
        if isinstance(node, ast.expr):
            return ctx.qualified_name(node) or "?"
        return "?"

    def _register_functions(self, ctx: FileContext) -> None:
        for statement in ctx.tree.body:
            if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
                self._functions[f"{ctx.module or ctx.path}.{statement.name}"] = (ctx, statement)

    def _function_for(
        self, ctx: FileContext, func: ast.expr
    ) -> tuple[FileContext, ast.FunctionDef | ast.AsyncFunctionDef] | None:
        if isinstance(func, ast.Name):
            local = self._functions.get(f"{ctx.module or ctx.path}.{func.id}")
            if local is not None and local[0] is ctx:
                return local
        qualified = ctx.qualified_name(func)
        return self._functions.get(qualified) if qualified else None

    def resolve(self, ctx: FileContext, expr: ast.AST, at: ast.AST) -> list[AppObject]:
        """The objects an expression (a receiver or an argument) may be, seen from node ``at``."""
        if isinstance(expr, ast.Name):
            scope = self._scope(ctx, at)
            while True:
                found = self.objects.get((ctx.path, id(scope) if scope else 0, expr.id))
                if found is not None:
                    return [found]
                if scope is not None:
                    bound = self._bound.get((ctx.path, id(scope), expr.id))
                    if bound:
                        return [self._by_id[i] for i in sorted(bound)]
                if scope is None:
                    break
                scope = self._scope(ctx, scope)
        if isinstance(expr, (ast.Name, ast.Attribute)):
            qualified = ctx.qualified_name(expr)
            if qualified is not None and qualified in self._by_qualified:
                return [self._by_qualified[qualified]]
        return []

    def _bind_calls(self) -> None:
        """Follow objects into the project functions they are passed to, to a fixed point."""
        for _ in range(_MAX_DELEGATION_ROUNDS):
            changed = False
            for ctx in self.code_files:
                for call in ctx.nodes(ast.Call):
                    passed = [(i, a) for i, a in enumerate(call.args)] + [
                        (kw.arg, kw.value) for kw in call.keywords if kw.arg
                    ]
                    for position, argument in passed:
                        objects = self.resolve(ctx, argument, call)
                        if not objects:
                            continue
                        target = self._function_for(ctx, call.func)
                        if target is None:
                            if ctx.qualified_name(call.func) not in _HARMLESS_RECEIVERS and not _is_method_of(
                                call, objects, self, ctx
                            ):
                                for obj in objects:
                                    obj.opaque = True
                            continue
                        target_ctx, function = target
                        params = [*function.args.posonlyargs, *function.args.args]
                        name: str | None = None
                        if isinstance(position, int):
                            name = params[position].arg if position < len(params) else None
                        elif any(p.arg == position for p in [*params, *function.args.kwonlyargs]):
                            name = position
                        if name is None:
                            continue
                        key = (target_ctx.path, id(function), name)
                        ids = self._bound.setdefault(key, set())
                        before = len(ids)
                        ids.update(id(o) for o in objects)
                        changed = changed or len(ids) != before
            if not changed:
                break

    def _collect(self, ctx: FileContext) -> None:
        for function in function_nodes(ctx):
            route = route_of(function)
            if route is None:
                continue
            decorator_func = route.decorator.func
            assert isinstance(decorator_func, ast.Attribute)
            for obj in self.resolve(ctx, decorator_func.value, function):
                obj.routes.append(RouteRef(ctx, route.path, function, function, route.decorator))
        for call in ctx.nodes(ast.Call):
            func = call.func
            if not isinstance(func, ast.Attribute):
                continue
            owners = self.resolve(ctx, func.value, call)
            if not owners:
                continue
            method = func.attr
            for obj in owners:
                if method in _ROUTE_METHODS:
                    path = string_value(call.args[0] if call.args else keyword(call, "path"))
                    if path is None:
                        obj.opaque = True
                    else:
                        obj.routes.append(RouteRef(ctx, path, call, None, None))
                elif method == "include_router":
                    children = self.resolve(ctx, call.args[0], call) if call.args else []
                    prefix_node = keyword(call, "prefix")
                    prefix = string_value(prefix_node) if prefix_node is not None else ""
                    if not children or prefix is None:
                        obj.opaque = True
                    for child in children:
                        obj.includes.append(Include(child, prefix or "", call))
                        deps = keyword(call, "dependencies")
                        if deps is not None:
                            child.dependencies.append(deps)
                elif method in ("mount", "host"):
                    obj.opaque = True
                    for argument in [*call.args, *(kw.value for kw in call.keywords)]:
                        for child in self.resolve(ctx, argument, call):
                            child.mounted = True
                elif (method == "exception_handler" and call.args) or (method == "add_exception_handler" and call.args):
                    obj.handlers.add(self._exception_key(ctx, call.args[0]))
                elif method == "add_middleware" and call.args:
                    obj.middleware.append(call.args[0])

    def _build(self) -> None:
        for ctx in self.code_files:
            self._register_objects(ctx)
            self._register_functions(ctx)
        self._bind_calls()
        for ctx in self.code_files:
            self._collect(ctx)

    # --- queries -----------------------------------------------------------------------------------------------

    @cached_property
    def apps(self) -> list[AppObject]:
        """The ``FastAPI()`` instances outside test code."""
        return [o for o in self.objects.values() if o.kind == "app"]


def _is_method_of(call: ast.Call, objects: list[AppObject], project: Project, ctx: FileContext) -> bool:
    """``app.include_router(router)``: the object is an argument of a method of another known object."""
    func = call.func
    return isinstance(func, ast.Attribute) and bool(project.resolve(ctx, func.value, call))


def project_apps(project: ProjectContext) -> Project:
    """One analysis per project, shared by the rules that need it."""
    cached = getattr(project, "_pf_apps", None)
    if isinstance(cached, Project):
        return cached
    built = Project(project)
    project._pf_apps = built  # type: ignore[attr-defined]
    return built


def segments(path: str) -> list[str]:
    return [s for s in path.strip("/").split("/") if s]


def mentions_name(node: ast.AST, *words: str) -> bool:
    """Whether any name or attribute inside ``node`` contains one of ``words`` (case-insensitive)."""
    for inner in ast.walk(node):
        name = dotted(inner) if isinstance(inner, (ast.Name, ast.Attribute)) else None
        if name and any(w in name.lower() for w in words):
            return True
    return False
