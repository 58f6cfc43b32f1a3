"""What the project rules need from the engine's app/router graph (``rules/graph.py``), asked one way.

The graph links every ``FastAPI()`` to its routers, factories and helper functions, and says when it could not see
everything (``is_open``). The rules here add three judgements of their own: test modules build throwaway apps,
an app mounted inside another is served (and probed, and error-handled) by its parent, and an app with a route
whose path is not a literal may already have the route a rule would call missing.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass

from production_fastapi.rules._helpers import dotted, keyword
from production_fastapi.rules.context import FileContext, ProjectContext
from production_fastapi.rules.graph import AppGraph, Node, Route

__all__ = ["FASTAPI_CLASSES", "ServiceApp", "is_test_file", "mentions_name", "segments", "service_apps"]

FASTAPI_CLASSES = frozenset({"fastapi.FastAPI", "fastapi.applications.FastAPI"})
_DECORATOR_METHODS = ("get", "post", "put", "patch", "delete", "head", "options", "api_route", "route")


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
        yield ServiceApp(graph, node)
