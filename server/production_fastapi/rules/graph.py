"""The app/router graph of a project: which ``FastAPI()`` apps exist, which ``APIRouter()``s they include (across
modules, through ``include_router`` and ``mount``), and what is registered on each (routes, exception handlers,
middleware, event handlers).

Project-wide rules ask it questions such as "does this app serve a liveness route?" or "does anything register a
handler for ``Exception`` on it?". Because such rules report something *missing*, the graph also says when it could
not see everything: an app is **open** when something reached it that the graph cannot follow (a router included
from an expression it cannot resolve, the app handed to a function outside the project). Rules should stay silent
about open apps.

Resolution is by meaning, not spelling: receivers are followed through local assignments, factory functions
(``def create_app() -> FastAPI: app = FastAPI(); ...; return app`` then ``app = create_app()``), imports between the
project's modules (absolute and relative, re-exports in ``__init__``), and helper functions that take the app as a
parameter (``def install_error_handlers(app: FastAPI)`` called with the app links what it registers to that app).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from production_fastapi.rules.context import FileContext, ProjectContext

__all__ = ["APP_CLASSES", "ROUTER_CLASSES", "AppGraph", "Include", "Node", "Registration", "Route"]

APP_CLASSES = frozenset({"fastapi.FastAPI", "fastapi.applications.FastAPI", "starlette.applications.Starlette"})
ROUTER_CLASSES = frozenset({"fastapi.APIRouter", "fastapi.routing.APIRouter"})
_ROUTE_DECORATORS = {
    "get": ("GET",),
    "post": ("POST",),
    "put": ("PUT",),
    "patch": ("PATCH",),
    "delete": ("DELETE",),
    "options": ("OPTIONS",),
    "head": ("HEAD",),
    "trace": ("TRACE",),
    "api_route": (),
    "route": (),
    "websocket": ("WEBSOCKET",),
    "websocket_route": ("WEBSOCKET",),
}
_ROUTE_METHODS = {
    "add_api_route": (),
    "add_route": (),
    "add_api_websocket_route": ("WEBSOCKET",),
    "add_websocket_route": ("WEBSOCKET",),
}
#: Functions an app may be passed to without anything being registered on it that the graph would miss.
_HARMLESS_SINKS = frozenset(
    {
        "uvicorn.run",
        "uvicorn.Config",
        "uvicorn.config.Config",
        "hypercorn.asyncio.serve",
        "mangum.Mangum",
        "fastapi.testclient.TestClient",
        "starlette.testclient.TestClient",
        "httpx.ASGITransport",
        "builtins.print",
        "builtins.isinstance",
        "builtins.id",
        "builtins.repr",
        "builtins.str",
        "builtins.len",
    }
)
_MAX_DEPTH = 8
FunctionDef = ast.FunctionDef | ast.AsyncFunctionDef


@dataclass(eq=False)
class Route:
    """A route registered on a node. ``path`` is as written on that node (None when not a string literal);
    :meth:`AppGraph.routes` joins the prefixes of the routers it was included through."""

    path: str | None
    methods: tuple[str, ...]
    node: ast.AST
    file: FileContext
    endpoint: FunctionDef | None
    kind: Literal["decorator", "call"]


@dataclass(eq=False)
class Registration:
    """Something else done to a node: ``add_exception_handler``, ``@app.exception_handler(...)``,
    ``add_middleware``, ``@app.middleware("http")``, ``on_event``... ``method`` is the attribute name;
    ``call`` the call node (the decorator's call for decorators); ``function`` the decorated def, if any."""

    method: str
    call: ast.Call
    file: FileContext
    function: FunctionDef | None = None


@dataclass(eq=False)
class Include:
    """``parent.include_router(child, prefix=...)`` or ``parent.mount(path, child)``; child None when unresolved."""

    child: Node | None
    prefix: str | None
    call: ast.Call
    file: FileContext
    kind: Literal["include_router", "mount"]


@dataclass(eq=False)
class Node:
    """One ``FastAPI()`` / ``APIRouter()`` instance, or a parameter standing for one inside a helper function."""

    kind: Literal["app", "router", "parameter"]
    name: str
    file: FileContext
    node: ast.AST
    scope: FunctionDef | None
    prefix: str = ""
    routes: list[Route] = field(default_factory=list)
    includes: list[Include] = field(default_factory=list)
    registrations: list[Registration] = field(default_factory=list)
    #: Parameter nodes of helper functions this node was passed to (their registrations are this node's).
    bound: list[Node] = field(default_factory=list)
    #: Why the graph cannot see everything about this node (empty when it can).
    open_reasons: list[str] = field(default_factory=list)

    def __repr__(self) -> str:
        return f"<{self.kind} {self.name} in {self.file.path}:{getattr(self.node, 'lineno', 0)}>"


def _literal_str(node: ast.expr | None) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


def _argument(call: ast.Call, position: int, keyword: str) -> ast.expr | None:
    for kw in call.keywords:
        if kw.arg == keyword:
            return kw.value
    if len(call.args) > position and not any(isinstance(a, ast.Starred) for a in call.args[: position + 1]):
        return call.args[position]
    return None


def _methods(call: ast.Call, default: tuple[str, ...]) -> tuple[str, ...]:
    value = _argument(call, 99, "methods")
    if isinstance(value, (ast.List, ast.Tuple, ast.Set)):
        found = [_literal_str(e) for e in value.elts]
        return tuple(m.upper() for m in found if m)
    return default or ("GET",)


class AppGraph:
    """Build with :meth:`build`; query with :meth:`apps`, :meth:`routes`, :meth:`registrations`, :meth:`is_open`."""

    def __init__(self) -> None:
        self.nodes: list[Node] = []
        self._by_binding: dict[tuple[int, int, str], Node] = {}  # (id(file), id(scope) or 0, name) -> node
        #: (id(file), name) for every key of ``_by_binding``: a name bound in no scope of its file cannot resolve
        #: locally, so :meth:`_resolve` skips the walk up its scopes (the graph's hottest path: every argument).
        self._bound_names: set[tuple[int, str]] = set()
        self._factories: dict[tuple[int, str], Node] = {}  # (id(file), function name) -> node it returns
        #: id(node) -> (file, name) of every module-level name bound to it, and of every factory returning it:
        #: what a ``"module:name"`` string or a server could load it by (``_apps.served_here``).
        self._exported: dict[int, list[tuple[FileContext, str]]] = {}
        self._functions: dict[str, tuple[FileContext, FunctionDef]] = {}  # qualified name -> module-level def
        self._files_by_module: dict[str, FileContext] = {}
        #: Calls already attributed to a node: a helper's body can be scanned twice (once when its parameter
        #: becomes a node, once in its file's own pass) and must register once.
        self._seen: set[int] = set()
        self._decorators: dict[int, set[int]] = {}
        self._functions_by_name: dict[str, list[tuple[str, tuple[FileContext, FunctionDef]]]] | None = None
        self._modules_by_name: dict[str, list[tuple[str, FileContext]]] | None = None

    # --- public queries ----------------------------------------------------------------------------------------

    def apps(self) -> list[Node]:
        return [n for n in self.nodes if n.kind == "app"]

    def routers(self) -> list[Node]:
        return [n for n in self.nodes if n.kind == "router"]

    def reachable(self, root: Node) -> list[Node]:
        """The node, the helper parameters it was passed to, and every router included below it."""
        seen: list[Node] = []
        visited: set[int] = set()
        stack = [root]
        while stack:
            node = stack.pop()
            if id(node) in visited:
                continue
            visited.add(id(node))
            seen.append(node)
            stack.extend(node.bound)
            stack.extend(inc.child for inc in node.includes if inc.child is not None)
        return seen

    def routes(self, app: Node) -> Iterator[tuple[str | None, Route]]:
        """Every route the app serves, with its full path (prefixes joined; None when any part is not literal)."""
        yield from self._routes(app, "", 0, [])

    def _routes(
        self, node: Node, prefix: str | None, depth: int, path: list[Node]
    ) -> Iterator[tuple[str | None, Route]]:
        if depth > _MAX_DEPTH or any(node is p for p in path):
            return
        path = [*path, node]
        own = None if prefix is None else prefix + node.prefix
        for route in node.routes:
            yield (None if own is None or route.path is None else own + route.path), route
        for bound in node.bound:
            yield from self._routes(bound, own, depth + 1, path)
        for inc in node.includes:
            if inc.child is not None:
                child_prefix = None if own is None or inc.prefix is None else own + inc.prefix
                yield from self._routes(inc.child, child_prefix, depth + 1, path)

    def registrations(self, app: Node, *methods: str) -> list[Registration]:
        """Registrations with these method names on the app or anything reachable from it."""
        wanted = set(methods)
        return [r for n in self.reachable(app) for r in n.registrations if not wanted or r.method in wanted]

    def is_open(self, app: Node) -> bool:
        """Whether something about the app (or what it includes) could not be followed: stay silent then."""
        return any(n.open_reasons or any(inc.child is None for inc in n.includes) for n in self.reachable(app))

    def open_reasons(self, app: Node) -> list[str]:
        reasons: list[str] = []
        for node in self.reachable(app):
            reasons.extend(node.open_reasons)
            reasons.extend(
                f"{inc.file.path}:{inc.call.lineno}: cannot resolve what {inc.kind} adds"
                for inc in node.includes
                if inc.child is None
            )
        return reasons

    def owner_of(self, node: Node) -> list[Node]:
        """The apps that reach this node."""
        return [app for app in self.apps() if any(node is n for n in self.reachable(app))]

    # --- building ----------------------------------------------------------------------------------------------

    @classmethod
    def build(cls, project: ProjectContext) -> AppGraph:
        graph = cls()
        graph._files_by_module = dict(project.by_module)
        for ctx in project.files:
            graph._collect_functions(ctx)
        for ctx in project.files:
            graph._collect_instances(ctx)
        for ctx in project.files:
            graph._collect_factory_results(ctx)
        for ctx in project.files:
            graph._collect_uses(ctx)
        return graph

    def _collect_functions(self, ctx: FileContext) -> None:
        if not ctx.module:
            return
        for stmt in ctx.tree.body:
            if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
                self._functions[f"{ctx.module}.{stmt.name}"] = (ctx, stmt)

    def _bind(self, ctx: FileContext, scope: FunctionDef | None, name: str, node: Node) -> None:
        self._by_binding[(id(ctx), id(scope) if scope else 0, name)] = node
        self._bound_names.add((id(ctx), name))
        if scope is None:
            self._exported.setdefault(id(node), []).append((ctx, name))

    def exported_as(self, node: Node) -> list[tuple[FileContext, str]]:
        """The (file, module-level name) pairs that hold this node, factories returning it included."""
        return self._exported.get(id(node), [])

    def _collect_instances(self, ctx: FileContext) -> None:
        if not ctx.imports("fastapi", "starlette"):
            return
        for targets, value in ctx.assignments():
            if not isinstance(value, ast.Call):
                continue
            created = ctx.qualified_name(value.func)
            if created in APP_CLASSES:
                kind: Literal["app", "router"] = "app"
            elif created in ROUTER_CLASSES:
                kind = "router"
            else:
                continue
            names = [t.id for t in targets if isinstance(t, ast.Name)]
            if not names:
                continue
            scope = self._scope(ctx, value)
            prefix = _literal_str(_argument(value, 99, "prefix")) or ""
            node = Node(kind, names[0], ctx, value, scope, prefix)
            self._register_constructor_args(node, value)
            self.nodes.append(node)
            for name in names:
                self._bind(ctx, scope, name, node)
            if scope is not None and self._returns_name(scope, names):
                self._factories[(id(ctx), scope.name)] = node
                self._exported.setdefault(id(node), []).append((ctx, scope.name))
        # Helper functions taking an app or router parameter: calls inside them register on a parameter node.
        for function in ctx.functions():
            for arg in (*function.args.posonlyargs, *function.args.args, *function.args.kwonlyargs):
                if arg.annotation is None:
                    continue
                annotated = (
                    ctx.qualified_name(arg.annotation)
                    if isinstance(arg.annotation, (ast.Name, ast.Attribute))
                    else None
                )
                if annotated in APP_CLASSES or annotated in ROUTER_CLASSES:
                    param = Node("parameter", arg.arg, ctx, arg, function)
                    self.nodes.append(param)
                    self._bind(ctx, function, arg.arg, param)

    def _register_constructor_args(self, node: Node, call: ast.Call) -> None:
        """``FastAPI(exception_handlers={...}, middleware=[...], on_startup=[...], routes=[...])``."""
        for kw in call.keywords:
            if kw.arg in ("exception_handlers", "middleware", "on_startup", "on_shutdown", "lifespan", "routes"):
                node.registrations.append(Registration(f"constructor:{kw.arg}", call, node.file))

    @staticmethod
    def _returns_name(function: FunctionDef, names: list[str]) -> bool:
        return any(
            isinstance(n, ast.Return) and isinstance(n.value, ast.Name) and n.value.id in names
            for n in ast.walk(function)
        )

    def _collect_factory_results(self, ctx: FileContext) -> None:
        """``app = create_app()`` binds ``app`` to the node the factory builds (same file or imported)."""
        for targets, value in ctx.assignments():
            if not isinstance(value, ast.Call):
                continue
            node = self._factory_node(ctx, value.func)
            if node is None:
                continue
            scope = self._scope(ctx, value)
            for target in targets:
                if isinstance(target, ast.Name):
                    self._bind(ctx, scope, target.id, node)

    def _factory_node(self, ctx: FileContext, func: ast.expr) -> Node | None:
        if isinstance(func, ast.Name) and (id(ctx), func.id) in self._factories:
            return self._factories[(id(ctx), func.id)]
        qualified = ctx.qualified_name(func)
        if qualified is None:
            return None
        found = self._function(qualified)
        if found is None:
            return None
        file, function = found
        return self._factories.get((id(file), function.name))

    def _function(self, qualified: str) -> tuple[FileContext, FunctionDef] | None:
        found = self._functions.get(qualified)
        if found is not None:
            return found
        # Module names are best effort (``src/`` layouts, packages reviewed from inside): accept a unique suffix
        # match, looked up by the last component so this stays linear in the project's size.
        if self._functions_by_name is None:
            self._functions_by_name = {}
            for key, value in self._functions.items():
                self._functions_by_name.setdefault(key.rpartition(".")[2], []).append((key, value))
        candidates = self._functions_by_name.get(qualified.rpartition(".")[2], [])
        matches = [v for k, v in candidates if k.endswith("." + qualified) or qualified.endswith("." + k)]
        return matches[0] if len(matches) == 1 else None

    @staticmethod
    def _scope(ctx: FileContext, node: ast.AST) -> FunctionDef | None:
        for ancestor in ctx.ancestors(node):
            if isinstance(ancestor, (ast.FunctionDef, ast.AsyncFunctionDef)):
                return ancestor
        return None

    # --- resolving a receiver expression to a node -------------------------------------------------------------

    def resolve(self, ctx: FileContext, expr: ast.expr, at: ast.AST | None = None) -> Node | None:
        """The node an expression in ``ctx`` refers to (``app``, ``users.router``, ``routers.api``), or None."""
        return self._resolve(ctx, expr, at or expr, 0)

    def _resolve(self, ctx: FileContext, expr: ast.expr, at: ast.AST, depth: int) -> Node | None:
        if depth > _MAX_DEPTH:
            return None
        if isinstance(expr, ast.Name) and (id(ctx), expr.id) in self._bound_names:
            scope: ast.AST | None = self._scope(ctx, at)
            while True:
                key = (id(ctx), id(scope) if scope else 0, expr.id)
                if key in self._by_binding:
                    return self._by_binding[key]
                if scope is None:
                    break
                scope = self._scope(ctx, scope)
        qualified = ctx.qualified_name(expr)
        if qualified is None or qualified.startswith("builtins."):
            return None
        return self._resolve_qualified(qualified, depth + 1)

    def _resolve_qualified(self, qualified: str, depth: int) -> Node | None:
        module, _, name = qualified.rpartition(".")
        ctx = self._module_file(module)
        if ctx is None:
            return None
        node = self._by_binding.get((id(ctx), 0, name))
        if node is not None:
            return node
        # A re-export: ``from .users import router as users_router`` in a package ``__init__``.
        target = ctx.import_map.resolve_name(name)
        if target is not None and target != qualified and depth <= _MAX_DEPTH:
            return self._resolve_qualified(target, depth + 1)
        return None

    def _module_file(self, module: str) -> FileContext | None:
        if module in self._files_by_module:
            return self._files_by_module[module]
        if self._modules_by_name is None:
            self._modules_by_name = {}
            for name, ctx in self._files_by_module.items():
                self._modules_by_name.setdefault(name.rpartition(".")[2], []).append((name, ctx))
        candidates = self._modules_by_name.get(module.rpartition(".")[2], [])
        matches = [f for m, f in candidates if m.endswith("." + module) or module.endswith("." + m)]
        return matches[0] if len(matches) == 1 else None

    # --- uses: routes, includes, registrations, escapes --------------------------------------------------------

    def _collect_uses(self, ctx: FileContext) -> None:
        if not self.nodes:
            return
        for function in ctx.functions():
            for decorator in function.decorator_list:
                if isinstance(decorator, ast.Call) and isinstance(decorator.func, ast.Attribute):
                    self._decorator(ctx, decorator, decorator.func, function)
        for call in ctx.nodes(ast.Call):
            if isinstance(call.func, ast.Attribute):
                self._method_call(ctx, call, call.func)
            self._passed_as_argument(ctx, call)

    def _decorator(self, ctx: FileContext, call: ast.Call, func: ast.Attribute, function: FunctionDef) -> None:
        if id(call) in self._seen:
            return
        owner = self.resolve(ctx, func.value, call)
        if owner is None:
            return
        self._seen.add(id(call))
        method = func.attr
        if method in _ROUTE_DECORATORS:
            path = _literal_str(_argument(call, 0, "path"))
            owner.routes.append(
                Route(path, _methods(call, _ROUTE_DECORATORS[method]), call, ctx, function, "decorator")
            )
        else:
            owner.registrations.append(Registration(method, call, ctx, function))

    def _method_call(self, ctx: FileContext, call: ast.Call, func: ast.Attribute) -> None:
        if id(call) in self._seen or id(call) in self._decorator_calls(ctx):
            return
        owner = self.resolve(ctx, func.value, call)
        if owner is None:
            return
        self._seen.add(id(call))
        method = func.attr
        if method in _ROUTE_METHODS:
            path = _literal_str(_argument(call, 0, "path"))
            endpoint_expr = _argument(call, 1, "endpoint")
            endpoint = self._local_function(ctx, endpoint_expr)
            owner.routes.append(Route(path, _methods(call, _ROUTE_METHODS[method]), call, ctx, endpoint, "call"))
        elif method == "include_router":
            child_expr = _argument(call, 0, "router")
            child = self.resolve(ctx, child_expr, call) if child_expr is not None else None
            prefix = _literal_str(_argument(call, 99, "prefix"))
            has_prefix = any(kw.arg == "prefix" for kw in call.keywords)
            owner.includes.append(Include(child, prefix if has_prefix else "", call, ctx, "include_router"))
        elif method == "mount":
            child_expr = _argument(call, 1, "app")
            child = self.resolve(ctx, child_expr, call) if child_expr is not None else None
            prefix = _literal_str(_argument(call, 0, "path"))
            if child is None:
                # Static files and other ASGI apps mounted on a path add no FastAPI routes or handlers to follow.
                owner.registrations.append(Registration("mount", call, ctx))
            else:
                owner.includes.append(Include(child, prefix, call, ctx, "mount"))
        else:
            owner.registrations.append(Registration(method, call, ctx))

    def _decorator_calls(self, ctx: FileContext) -> set[int]:
        """Calls used as decorators in a file: they are routes or registrations, never plain method calls."""
        key = id(ctx)
        found = self._decorators.get(key)
        if found is None:
            found = {
                id(d)
                for f in (*ctx.functions(), *ctx.nodes(ast.ClassDef))
                for d in f.decorator_list
                if isinstance(d, ast.Call)
            }
            self._decorators[key] = found
        return found

    @staticmethod
    def _local_function(ctx: FileContext, expr: ast.expr | None) -> FunctionDef | None:
        if not isinstance(expr, ast.Name):
            return None
        for function in ctx.functions():
            if function.name == expr.id:
                return function
        return None

    def _passed_as_argument(self, ctx: FileContext, call: ast.Call) -> None:
        """``install_error_handlers(app)``: link the helper's parameter to the app, or mark the app open."""
        values = [*call.args, *(kw.value for kw in call.keywords)]
        passed = [(i, v) for i, v in enumerate(values) if isinstance(v, (ast.Name, ast.Attribute))]
        if not passed:
            return
        for position, value in passed:
            node = self.resolve(ctx, value, call)
            if node is None:
                continue
            if isinstance(call.func, ast.Attribute) and self.resolve(ctx, call.func.value, call) is not None:
                continue  # ``app.include_router(router)``: handled as a method call on the app
            callee = ctx.qualified_name(call.func)
            if callee in _HARMLESS_SINKS:
                continue
            target = self._callee(ctx, call.func)
            parameter = self._parameter_for(target, call, value, position) if target else None
            if parameter is not None:
                if not any(parameter is b for b in node.bound):
                    node.bound.append(parameter)
            else:
                name = callee or ctx.segment(call.func) or "a call"
                node.open_reasons.append(f"{ctx.path}:{call.lineno}: passed to {name}, which the review cannot follow")

    def _callee(self, ctx: FileContext, func: ast.expr) -> tuple[FileContext, FunctionDef] | None:
        if isinstance(func, ast.Name):
            for function in ctx.functions():
                if function.name == func.id and self._scope(ctx, function) is None:
                    return ctx, function
        qualified = ctx.qualified_name(func)
        return self._function(qualified) if qualified else None

    def _parameter_for(
        self, target: tuple[FileContext, FunctionDef], call: ast.Call, value: ast.expr, position: int
    ) -> Node | None:
        file, function = target
        args = function.args
        positional = [*args.posonlyargs, *args.args]
        name: str | None = None
        keyword = next((kw.arg for kw in call.keywords if kw.value is value), None)
        if keyword is not None:
            name = keyword
        elif position < len(call.args) and position < len(positional):
            name = positional[position].arg
        if name is None:
            return None
        parameter = self._by_binding.get((id(file), id(function), name))
        if parameter is not None and parameter.kind == "parameter":
            return parameter
        # An unannotated parameter: create its node now so what the helper registers is still seen.
        if any(a.arg == name for a in (*positional, *args.kwonlyargs)):
            created = Node("parameter", name, file, function, function)
            self.nodes.append(created)
            self._bind(file, function, name, created)
            self._collect_uses_in(file, function)
            return created
        return None

    def _collect_uses_in(self, ctx: FileContext, function: FunctionDef) -> None:
        """Re-scan one helper's body after its parameter became a node (unannotated parameters)."""
        for node in ast.walk(function):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for decorator in node.decorator_list:
                    if isinstance(decorator, ast.Call) and isinstance(decorator.func, ast.Attribute):
                        owner = self.resolve(ctx, decorator.func.value, decorator)
                        if owner is not None and owner.scope is function and owner.kind == "parameter":
                            self._decorator(ctx, decorator, decorator.func, node)
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                owner = self.resolve(ctx, node.func.value, node)
                if owner is not None and owner.scope is function and owner.kind == "parameter":
                    self._method_call(ctx, node, node.func)
