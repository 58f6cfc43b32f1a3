"""Shared knowledge of the area modules: what a route, a dependency, a Pydantic model and a literal look like.

Everything here answers "what does this code mean" from the file alone (or the project, for model classes), and
answers None or False when it cannot tell: the rules built on it stay silent rather than guess.
"""

from __future__ import annotations

import ast
import contextlib
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cached_property

from production_fastapi.rules.context import FileContext, ProjectContext

__all__ = [
    "HTTP_METHODS",
    "MODEL_BASES",
    "SETTINGS_BASES",
    "V1_MODEL_BASES",
    "ModelClass",
    "ModelIndex",
    "Route",
    "annotation_names",
    "call_name",
    "dependency_names",
    "dotted",
    "enclosing_route",
    "file_models",
    "function_nodes",
    "has_star_kwargs",
    "is_none",
    "is_true",
    "keyword",
    "literal_strings",
    "method_call_gate",
    "model_index",
    "name_words",
    "own_nodes",
    "request_functions",
    "route_of",
    "routes",
    "string_value",
]

#: Route decorators of FastAPI/APIRouter (``@app.get("/x")``) and their HTTP method.
HTTP_METHODS = frozenset(
    {"get", "post", "put", "patch", "delete", "head", "options", "trace", "api_route", "websocket"}
)

#: The classes a Pydantic model (or settings class) derives from, as qualified names.
MODEL_BASES = frozenset(
    {
        "pydantic.BaseModel",
        "pydantic.main.BaseModel",
        "pydantic.RootModel",
        "pydantic_settings.BaseSettings",
        "pydantic.BaseSettings",
        "sqlmodel.SQLModel",
    }
)
#: The bases of Pydantic v1 models in Pydantic 2's compatibility namespace (``pydantic.v1``).
V1_MODEL_BASES = frozenset(
    {
        "pydantic.v1.BaseModel",
        "pydantic.v1.main.BaseModel",
        "pydantic.v1.BaseSettings",
        "pydantic.v1.env_settings.BaseSettings",
    }
)
SETTINGS_BASES = frozenset({"pydantic_settings.BaseSettings", "pydantic.BaseSettings", "pydantic.v1.BaseSettings"})

FunctionDef = ast.FunctionDef | ast.AsyncFunctionDef


def method_call_gate(names: Iterable[str]) -> re.Pattern[str]:
    """A text gate (for :meth:`FileContext.search`) on where a method of one of these names can be called.

    It matches a dot, then (across spaces and backslash continuations) one of the names, or a dot followed by a
    comment, after which the name may come. A file with neither calls none of them. Every branch starts at a dot
    and scans only whitespace from it, so the search stays linear on any input (a comment-skipping pattern
    backtracked exponentially on a line of `#`).
    """
    alternatives = "|".join(sorted(set(names), key=lambda name: (-len(name), name)))
    return re.compile(rf"\.(?:[\s\\]*(?:{alternatives})\b|[ \t\\]*#)")


def dotted(node: ast.AST) -> str | None:
    """``request.app.state.http`` for a chain of names and attributes; None for anything else."""
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    parts.append(node.id)
    return ".".join(reversed(parts))


def call_name(node: ast.Call) -> str | None:
    """The last component of the callee (``get`` for ``client.get(...)``, ``open`` for ``open(...)``)."""
    func = node.func
    if isinstance(func, ast.Attribute):
        return func.attr
    if isinstance(func, ast.Name):
        return func.id
    return None


def keyword(call: ast.Call, name: str) -> ast.expr | None:
    """The value of keyword argument ``name``, or None when absent."""
    for kw in call.keywords:
        if kw.arg == name:
            return kw.value
    return None


def has_star_kwargs(call: ast.Call) -> bool:
    """``f(**options)``: any keyword may be hiding in there, so "missing keyword" rules stay silent."""
    return any(kw.arg is None for kw in call.keywords)


def string_value(node: ast.AST | None) -> str | None:
    """The value of a string literal (implicit concatenation included); None for anything else."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


def literal_strings(node: ast.AST | None) -> list[str] | None:
    """A string, or a list/tuple/set of strings, as a list; None when any part is not a literal."""
    single = string_value(node)
    if single is not None:
        return [single]
    if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
        values = [string_value(element) for element in node.elts]
        if all(v is not None for v in values):
            return [v for v in values if v is not None]
    return None


def is_true(node: ast.AST | None) -> bool:
    return isinstance(node, ast.Constant) and node.value is True


def is_none(node: ast.AST | None) -> bool:
    return isinstance(node, ast.Constant) and node.value is None


def own_nodes(function: ast.AST) -> Iterator[ast.AST]:
    """The nodes that run as part of ``function``'s own body: nested functions, lambdas and classes are skipped."""
    body = getattr(function, "body", [])
    # A lambda's body is one expression, not a list of statements.
    stack: list[ast.AST] = list(reversed(body)) if isinstance(body, list) else [body]
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            continue
        stack.extend(reversed(list(ast.iter_child_nodes(node))))


def function_nodes(ctx: FileContext) -> Iterator[FunctionDef]:
    """Every ``def`` and ``async def`` of the file, in source order."""
    functions: list[FunctionDef] = [*ctx.nodes(ast.FunctionDef), *ctx.nodes(ast.AsyncFunctionDef)]
    functions.sort(key=lambda f: (f.lineno, f.col_offset))
    yield from functions


def annotation_names(node: ast.AST | None) -> Iterator[ast.expr]:
    """Every name or attribute chain inside an annotation (``list[Order] | None`` -> ``list``, ``Order``, ``None``).

    String annotations (``"Order"``) are parsed; a chain's inner parts are not repeated.
    """
    if node is None:
        return
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        try:
            parsed = ast.parse(node.value, mode="eval").body
        except SyntaxError:
            return
        yield from annotation_names(parsed)
        return
    if isinstance(node, (ast.Name, ast.Attribute)) and dotted(node) is not None:
        yield node
        return
    for child in ast.iter_child_nodes(node):
        yield from annotation_names(child)


# --- routes ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Route:
    """One path operation: its function, the decorator call, the method and the path as written."""

    function: FunctionDef
    decorator: ast.Call
    method: str
    path: str
    receiver: str | None

    @property
    def response_model(self) -> ast.expr | None:
        return keyword(self.decorator, "response_model")


def route_of(function: FunctionDef) -> Route | None:
    """The route a function is registered as by its decorator (``@router.post("/orders")``), if any.

    A decorator counts when it calls ``<receiver>.<http method>`` with a literal path that starts with ``/`` (or is
    empty, FastAPI's prefix-only route): that shape is FastAPI's and Starlette-style routers', not a dict's ``get``.
    """
    for decorator in function.decorator_list:
        if not (isinstance(decorator, ast.Call) and isinstance(decorator.func, ast.Attribute)):
            continue
        method = decorator.func.attr
        if method not in HTTP_METHODS:
            continue
        path_node = decorator.args[0] if decorator.args else keyword(decorator, "path")
        path = string_value(path_node)
        if path is None or not (path == "" or path.startswith("/")):
            continue
        return Route(function, decorator, method, path, dotted(decorator.func.value))
    return None


def routes(ctx: FileContext) -> Iterator[Route]:
    for function in function_nodes(ctx):
        route = route_of(function)
        if route is not None:
            yield route


def enclosing_route(ctx: FileContext, node: ast.AST) -> Route | None:
    """The route whose own body holds ``node`` (not through a nested function)."""
    function = ctx.enclosing_function(node)
    if isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return route_of(function)
    return None


def dependency_names(ctx: FileContext) -> set[str]:
    """Local names passed to ``Depends(...)``/``Security(...)``: the file's dependency functions."""
    names: set[str] = set()
    for call in ctx.calls("fastapi.Depends", "fastapi.Security", "fastapi.params.Depends", "fastapi.params.Security"):
        target = call.args[0] if call.args else keyword(call, "dependency")
        if isinstance(target, ast.Name):
            names.add(target.id)
    return names


def request_functions(ctx: FileContext) -> Iterator[FunctionDef]:
    """Route handlers and the file's dependency functions: the code that runs for every request."""
    dependencies = dependency_names(ctx)
    for function in function_nodes(ctx):
        if route_of(function) is not None or (
            function.name in dependencies and ctx.enclosing_function(function) is None
        ):
            yield function


# --- Pydantic models across a project -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ModelClass:
    """A class known to be a Pydantic model (or settings class), where it lives and what it derives from."""

    ctx: FileContext
    node: ast.ClassDef
    key: str


def _class_key(ctx: FileContext, name: str) -> str:
    return f"{ctx.module or ctx.path}.{name}"


class ModelIndex:
    """Which classes of a project are Pydantic models, following bases across files by import.

    A class is a model when a base resolves to a Pydantic base (``MODEL_BASES``) or to another model class of the
    project, in the same file or imported from another; anything unresolved is not a model.
    """

    def __init__(self, files: Iterable[FileContext], roots: frozenset[str] = MODEL_BASES) -> None:
        self._files = list(files)
        self._roots = roots

    @cached_property
    def _classes(self) -> dict[str, tuple[FileContext, ast.ClassDef]]:
        found: dict[str, tuple[FileContext, ast.ClassDef]] = {}
        for ctx in self._files:
            for node in ctx.tree.body:
                if isinstance(node, ast.ClassDef):
                    found[_class_key(ctx, node.name)] = (ctx, node)
        return found

    def _base_key(self, ctx: FileContext, base: ast.expr) -> str | None:
        """The qualified name a base refers to: a root, a class key of the project, or None."""
        if isinstance(base, ast.Subscript):  # RootModel[list[int]], Generic models
            base = base.value
        qualified = ctx.qualified_name(base)
        if qualified is not None:
            return qualified
        if isinstance(base, ast.Name):
            return _class_key(ctx, base.id)
        return None

    @cached_property
    def models(self) -> dict[str, ModelClass]:
        known: dict[str, ModelClass] = {}
        changed = True
        while changed:
            changed = False
            for key, (ctx, node) in self._classes.items():
                if key in known:
                    continue
                for base in node.bases:
                    base_key = self._base_key(ctx, base)
                    if base_key is not None and (base_key in self._roots or base_key in known):
                        known[key] = ModelClass(ctx, node, key)
                        changed = True
                        break
        return known

    def resolve(self, ctx: FileContext, expr: ast.expr) -> ModelClass | None:
        """The model class an expression names in ``ctx`` (a local class or an imported one), or None."""
        if isinstance(expr, ast.Name):
            local = self.models.get(_class_key(ctx, expr.id))
            if local is not None and local.ctx is ctx:
                return local
        qualified = ctx.qualified_name(expr)
        if qualified is None:
            return None
        return self.models.get(qualified)

    def is_root(self, ctx: FileContext, expr: ast.expr) -> bool:
        return ctx.qualified_name(expr) in self._roots

    def fields(self, model: ModelClass) -> Iterator[tuple[FileContext, ast.AnnAssign, str]]:
        """Annotated fields of the model and of the project model classes it derives from (own fields first)."""
        seen: set[str] = set()
        pending = [model]
        while pending:
            current = pending.pop(0)
            if current.key in seen:
                continue
            seen.add(current.key)
            for statement in current.node.body:
                if isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name):
                    yield current.ctx, statement, statement.target.id
            for base in current.node.bases:
                parent = self.resolve(current.ctx, base)
                if parent is not None:
                    pending.append(parent)


def model_index(project: ProjectContext) -> ModelIndex:
    """One index per project, shared by the rules that need it."""
    cached = getattr(project, "_pf_model_index", None)
    if isinstance(cached, ModelIndex):
        return cached
    index = ModelIndex(project.files)
    # A slotted context refuses the attribute: then each rule rebuilds the index, slower but correct.
    with contextlib.suppress(AttributeError):
        project._pf_model_index = index  # type: ignore[attr-defined]
    return index


def file_models(ctx: FileContext) -> ModelIndex:
    """A model index of one file alone (file rules that need "is this class a model")."""
    return ModelIndex([ctx])


# --- strings --------------------------------------------------------------------------------------------------

_WORD = re.compile(r"[a-z0-9]+")


def name_words(name: str) -> list[str]:
    """``stripeApiKey`` / ``STRIPE_API_KEY`` -> ``["stripe", "api", "key"]``."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name)
    return _WORD.findall(spaced.lower())
