"""What the project rules need from the engine's app/router graph (``rules/graph.py``), asked one way.

The graph links every ``FastAPI()`` to its routers, factories and helper functions, and says when it could not see
everything (``is_open``). The rules here add judgements of their own: test modules build throwaway apps, an app
mounted inside another is served (and probed, and error-handled) by its parent, an app with a route whose path is
not a literal may already have the route a rule would call missing, and an app nothing in the project serves is
assembled elsewhere (a library's app, mounted or extended by whoever imports it).

"Served here" (:func:`served_here`) needs evidence in the project: the app sits in an entry module (``main.py``,
``asgi.py``, or where ``fastapi run`` looks: ``app.py``, ``api.py``, ``app/app.py``, ``app/api.py``), or in a file
with a ``__main__`` block; or a ``"module:name"`` string names it (``uvicorn.run("pkg.web:app")``, a gunicorn
config); or it is handed to a server (``uvicorn.run(app)``, ``Mangum(app)``). Without any, the "missing X" rules say
nothing: no "probe missing" on a sub-app, a framework's app or a library's. No informational "could not resolve the
app" finding either: it would be the one line in every library's default output, and it asks nothing of anyone.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass

from production_fastapi.rules._helpers import dotted, keyword
from production_fastapi.rules.context import FileContext, ProjectContext
from production_fastapi.rules.contexts import file_context
from production_fastapi.rules.graph import AppGraph, Node, Route

__all__ = [
    "FASTAPI_CLASSES",
    "SERVICE_GATE",
    "ServiceApp",
    "is_test_file",
    "mentions_name",
    "segments",
    "served_here",
    "service_apps",
]

#: What the "missing X" project rules read: the app's files, and the launchers that import only a server.
SERVICE_GATE = ("fastapi", "uvicorn", "hypercorn", "granian", "mangum")

FASTAPI_CLASSES = frozenset({"fastapi.FastAPI", "fastapi.applications.FastAPI"})
_DECORATOR_METHODS = ("get", "post", "put", "patch", "delete", "head", "options", "api_route", "route")


def is_test_file(ctx: FileContext) -> bool:
    """Test code builds throwaway apps: judged like every context, by ``rules/contexts.py``."""
    return file_context(ctx) == "test"


def segments(path: str) -> list[str]:
    return [s for s in path.strip("/").split("/") if s]


def mentions_name(node: ast.AST, *words: str) -> bool:
    """Whether any name or attribute inside ``node`` contains one of ``words`` (case-insensitive)."""
    for inner in ast.walk(node):
        name = dotted(inner) if isinstance(inner, (ast.Name, ast.Attribute)) else None
        if name and any(w in name.lower() for w in words):
            return True
    return False


@dataclass(frozen=True, slots=True)
class RoutedPath:
    """A route as the app serves it: the full path (None when not literal) and the dependencies above it."""

    path: str | None
    route: Route
    dependencies: tuple[ast.expr, ...]


@dataclass(frozen=True, slots=True)
class ServiceApp:
    """A ``FastAPI()`` app that runs as a service: not test code, not mounted inside another app, fully seen."""

    graph: AppGraph
    node: Node

    @property
    def ctx(self) -> FileContext:
        return self.node.file

    @property
    def call(self) -> ast.AST:
        return self.node.node

    def routes(self) -> Iterator[RoutedPath]:
        yield from self._walk(self.node, "", (), 0, ())

    def _walk(
        self, node: Node, prefix: str | None, deps: tuple[ast.expr, ...], depth: int, seen: tuple[int, ...]
    ) -> Iterator[RoutedPath]:
        if depth > 8 or id(node) in seen:
            return
        seen = (*seen, id(node))
        own = None if prefix is None else prefix + node.prefix
        if isinstance(node.node, ast.Call):
            constructor_deps = keyword(node.node, "dependencies")
            if constructor_deps is not None:
                deps = (*deps, constructor_deps)
        for route in node.routes:
            yield RoutedPath(None if own is None or route.path is None else own + route.path, route, deps)
        for bound in node.bound:
            yield from self._walk(bound, own, deps, depth + 1, seen)
        for include in node.includes:
            if include.child is None:
                continue
            child_prefix = None if own is None or include.prefix is None else own + include.prefix
            include_deps = keyword(include.call, "dependencies")
            child_deps = (*deps, include_deps) if include_deps is not None else deps
            yield from self._walk(include.child, child_prefix, child_deps, depth + 1, seen)

    def registrations(self, *methods: str) -> list[ast.Call]:
        return [r.call for r in self.graph.registrations(self.node, *methods)]

    @property
    def routes_unknown(self) -> bool:
        """Whether the app may serve paths the graph doesn't list: ``routes=[...]`` in the constructor, or an ASGI
        app mounted from an expression the graph can't follow (``StaticFiles`` is known to serve only files)."""
        if self.registrations("constructor:routes"):
            return True
        for registration in self.graph.registrations(self.node, "mount"):
            call = registration.call
            mounted = keyword(call, "app") or (call.args[1] if len(call.args) > 1 else None)
            if not (
                isinstance(mounted, ast.Call)
                and (registration.file.qualified_name(mounted.func) or "").endswith(".StaticFiles")
            ):
                return True
        return False

    def called_route_paths(self) -> list[str]:
        """Paths of routes registered by calling a decorator directly (``app.get("/ping")(ping)``), which the
        graph records as plain registrations; their router prefix is unknown, their last segment is not."""
        paths: list[str] = []
        for registration in self.graph.registrations(self.node, *_DECORATOR_METHODS):
            if registration.function is None and registration.call.args:
                first = registration.call.args[0]
                if isinstance(first, ast.Constant) and isinstance(first.value, str):
                    paths.append(first.value)
        return paths


#: Module names (relative to the project) where an app is the service's entry point by convention.
_ENTRY_MODULES = frozenset({"main", "asgi", "wsgi"})
_CLI_DISCOVERED = frozenset({"app", "api", "app.app", "app.api"})
_SERVERS = ("uvicorn.", "hypercorn.", "granian.", "mangum.", "daphne.")
_APP_REFERENCE = re.compile(r"""["']([A-Za-z_][\w.]*):([A-Za-z_]\w*)["']""")


@dataclass(frozen=True, slots=True)
class _Launches:
    """What the project's code starts: ``module:name`` references and the nodes handed to a server."""

    references: frozenset[tuple[str, str]]
    served: frozenset[int]


def _launches(project: ProjectContext, graph: AppGraph) -> _Launches:
    cached = getattr(project, "_pf_launches", None)
    if isinstance(cached, _Launches):
        return cached
    references: set[tuple[str, str]] = set()
    served: set[int] = set()
    for ctx in project.files:
        if _APP_REFERENCE.search(ctx.source):
            references.update(_launch_strings(ctx))
        if not ctx.imports(*(s.rstrip(".") for s in _SERVERS)):
            continue
        for call in ctx.nodes(ast.Call):
            if not _is_server_call(ctx, call):
                continue
            for argument in (*call.args, *(kw.value for kw in call.keywords)):
                if isinstance(argument, (ast.Name, ast.Attribute)):
                    node = graph.resolve(ctx, argument, call)
                    if node is not None:
                        served.add(id(node))
    found = _Launches(frozenset(references), frozenset(served))
    project._pf_launches = found  # type: ignore[attr-defined]
    return found


def _is_server_call(ctx: FileContext, call: ast.Call) -> bool:
    return (ctx.qualified_name(call.func) or "").startswith(_SERVERS)


_SERVER_WORDS = frozenset({"uvicorn", "gunicorn", "hypercorn", "granian", "daphne", "fastapi"})


def _launch_strings(ctx: FileContext) -> Iterator[tuple[str, str]]:
    """``"module:name"`` strings a server is started with: an argument of a server call, an item of a command
    line that names a server (``["uvicorn", "pkg.web:app"]``), or a gunicorn config's ``wsgi_app``. A string handed
    to ``import_from_string`` or kept in settings is a plugin or a sub-app loaded by someone else: not a launch."""
    for constant in ctx.nodes(ast.Constant):
        if not isinstance(constant.value, str) or ":" not in constant.value:
            continue
        match = _APP_REFERENCE.fullmatch(repr(constant.value)) or _APP_REFERENCE.fullmatch(f'"{constant.value}"')
        if match is None:
            continue
        parent = ctx.parent(constant)
        if isinstance(parent, ast.keyword):
            parent = ctx.parent(parent)
        launched = False
        if isinstance(parent, ast.Call):
            launched = _is_server_call(ctx, parent)
        elif isinstance(parent, (ast.List, ast.Tuple)):
            launched = any(
                isinstance(item, ast.Constant) and isinstance(item.value, str) and item.value in _SERVER_WORDS
                for item in parent.elts
            )
        elif isinstance(parent, ast.Assign):
            launched = any(isinstance(t, ast.Name) and t.id == "wsgi_app" for t in parent.targets)
        if launched:
            yield match.group(1), match.group(2)


def _names_module(reference: str, module: str) -> bool:
    """``"web:app"`` run from inside the package names ``pkg.web``; ``"src.pkg.web:app"`` names it too."""
    return reference == module or reference.endswith("." + module) or module.endswith("." + reference)


def served_here(project: ProjectContext, graph: AppGraph, node: Node) -> bool:
    """Whether the project itself serves this app (see the module docstring); False means assembled elsewhere."""
    exported = graph.exported_as(node)
    for ctx, _ in exported:
        module = ctx.module or ""
        if module in _CLI_DISCOVERED or module.rpartition(".")[2] in _ENTRY_MODULES:
            return True
        if "__main__" in ctx.source and ctx.search(_MAIN_GUARD):
            return True
    launches = _launches(project, graph)
    if id(node) in launches.served:
        return True
    return any(
        name == wanted and ctx.module and _names_module(reference, ctx.module)
        for ctx, wanted in exported
        for reference, name in launches.references
    )


_MAIN_GUARD = re.compile(r"^if\s+__name__\s*==\s*['\"]__main__['\"]", re.MULTILINE)


def _service_graph(project: ProjectContext) -> AppGraph:
    """The graph of the project's code without its tests: a test handing the app to a test client or a lifespan
    helper says nothing about what the service registers, and must not make the app look unknowable."""
    cached = getattr(project, "_pf_service_graph", None)
    if isinstance(cached, AppGraph):
        return cached
    code = [ctx for ctx in project.files if not is_test_file(ctx)]
    graph = project.graph if len(code) == len(project.files) else AppGraph.build(ProjectContext(code))
    project._pf_service_graph = graph  # type: ignore[attr-defined]
    return graph


def service_apps(project: ProjectContext) -> Iterator[ServiceApp]:
    """The project's service apps the graph sees completely. Nothing when the project itself is partial."""
    if not project.complete:
        return
    graph = _service_graph(project)
    mounted = {
        id(include.child)
        for node in graph.nodes
        for include in node.includes
        if include.kind == "mount" and include.child is not None
    }
    for node in graph.apps():
        if not isinstance(node.node, ast.Call) or node.file.qualified_name(node.node.func) not in FASTAPI_CLASSES:
            continue
        if is_test_file(node.file) or id(node) in mounted or graph.is_open(node):
            continue
        if not served_here(project, graph, node):
            continue
        yield ServiceApp(graph, node)
