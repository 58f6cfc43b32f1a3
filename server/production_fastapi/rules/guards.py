"""Version guards: code that deliberately runs one way on one version of a library and another way on another.

Compatibility code is written on purpose and must not be "migrated" by the reviewer::

    if PYDANTIC_V2:                         # or IS_PYDANTIC_V2, PYDANTIC_MAJOR_VERSION == 1,
        ...                                 # PYDANTIC_VERSION.startswith("1"), pydantic.VERSION[0] == "1",
    else:                                   # version.parse(pydantic.__version__) >= ..., hasattr(pydantic, ...)
        ...

    try:                                    # a try whose body imports the library and whose handler
        from pydantic_settings import BaseSettings   # catches ImportError (or AttributeError)
    except ImportError:
        from pydantic import BaseSettings

Also ``VERSION`` imported from ``pydantic.version`` under any alias, and duck typing between the model APIs
(``if hasattr(item, "model_dump"): ... else: item.dict()``). Both branches of such an ``if`` (and ternary) are
guarded, and when the ``if`` has no ``else`` but always leaves (``return``/``raise``), the rest of its block is the
other branch. Every part of such a ``try`` is guarded too: a finding of a rule
conditioned on that library (``Rule.versions``) is not reported there. A file holding any guard for the library is
compatibility code as a whole: outside the guard, only what breaks on a version it supports is reported, and never
with a fix (a fix would add the unconditional import the guard exists to avoid).
The same shapes are recognised for every library whose versions rules depend on.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from production_fastapi.rules.context import FileContext

__all__ = ["GUARD_HINT", "Guards", "library_family", "version_guards"]

#: A library and the names its version guards and guarded imports use (distribution name -> module spellings).
_FAMILIES: dict[str, tuple[str, ...]] = {
    "pydantic": ("pydantic", "pydantic_settings", "pydantic_core"),
    "fastapi": ("fastapi", "starlette"),
    "uvicorn": ("uvicorn", "uvicorn_worker", "gunicorn"),
    "redis": ("redis", "aioredis"),
    "sqlalchemy": ("sqlalchemy", "sqlmodel"),
}
_LIBRARY_OF = {spelling: library for library, spellings in _FAMILIES.items() for spelling in spellings}
_WORDS = "|".join(sorted(_LIBRARY_OF, key=len, reverse=True))
#: ``PYDANTIC_V2``, ``IS_PYDANTIC_V1``, ``PYDANTIC_VERSION_MINOR_TUPLE``, ``SQLALCHEMY_2_0``, ``is_pydantic_v1_model``.
_VERSION_NAME = re.compile(rf"(?i)({_WORDS})_?(?:v\d+|\d+(?:_\d+)*\b|version|major|minor)")
#: ``pydantic.VERSION``, ``pydantic.version.VERSION``, ``fastapi.__version__``, ``sqlalchemy.__version__``.
_VERSION_ATTRIBUTES = frozenset({"VERSION", "__version__", "version_info", "__version_info__", "version"})
#: ``hasattr(obj, "model_dump")``: duck-typing between the v1 and v2 model APIs.
_MODEL_API = frozenset(
    {"model_dump", "model_dump_json", "model_validate", "model_validate_json", "model_fields", "model_config",
     "model_copy", "model_json_schema", "model_construct", "dict", "json", "parse_obj", "parse_raw", "from_orm",
     "__fields__", "__config__", "schema", "copy"}
)
_IMPORT_ERRORS = frozenset({"ImportError", "ModuleNotFoundError", "AttributeError", "Exception"})
#: A cheap text test: a file without any of these has no guard (most files).
GUARD_HINT = re.compile(r"(?i)version|_v\d|ImportError|ModuleNotFoundError|AttributeError|hasattr|Exception")

Guards = dict[str, list[tuple[int, int]]]


def _version_import(ctx: FileContext, node: ast.Name) -> str | None:
    """``VERSION`` imported from ``pydantic.version`` (under any alias): the library it is the version of."""
    qualified = ctx.qualified_name(node) or ""
    root, _, rest = qualified.partition(".")
    if root in _LIBRARY_OF and rest.rpartition(".")[2] in _VERSION_ATTRIBUTES:
        return _LIBRARY_OF[root]
    return None


def _libraries_named(ctx: FileContext, test: ast.expr) -> Iterator[str]:
    """The libraries a condition tests the version (or features) of."""
    for node in ast.walk(test):
        if isinstance(node, ast.Name):
            match = _VERSION_NAME.search(node.id)
            if match:
                yield _LIBRARY_OF[match[1].lower()]
            else:
                library = _version_import(ctx, node)
                if library:
                    yield library
        elif isinstance(node, ast.Attribute):
            match = _VERSION_NAME.search(node.attr)
            if match:
                yield _LIBRARY_OF[match[1].lower()]
            root: ast.expr = node
            while isinstance(root, ast.Attribute):
                root = root.value
            if isinstance(root, ast.Name) and root.id in _LIBRARY_OF and node.attr in _VERSION_ATTRIBUTES:
                yield _LIBRARY_OF[root.id]
        elif isinstance(node, ast.Call) and node.args:
            name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")
            first = node.args[0]
            if name == "hasattr" and isinstance(first, (ast.Name, ast.Attribute)):
                root_expr: ast.expr = first
                while isinstance(root_expr, ast.Attribute):
                    root_expr = root_expr.value
                if isinstance(root_expr, ast.Name) and root_expr.id in _LIBRARY_OF:
                    yield _LIBRARY_OF[root_expr.id]
                attribute = node.args[1] if len(node.args) > 1 else None
                if isinstance(attribute, ast.Constant) and attribute.value in _MODEL_API:
                    yield "pydantic"
            elif name in ("version", "get_distribution", "require") and isinstance(first, ast.Constant):
                spelled = str(first.value).replace("-", "_").lower()
                if spelled in _LIBRARY_OF:
                    yield _LIBRARY_OF[spelled]


def _imports_in(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    """The statements of a ``try`` body, and those of ``with``/``if`` blocks in it (``with warnings...: import``)."""
    for statement in body:
        yield statement
        if isinstance(statement, (ast.With, ast.If)):
            yield from _imports_in(statement.body)


def _imported_libraries(body: list[ast.stmt]) -> Iterator[str]:
    for node in _imports_in(body):
        if isinstance(node, ast.Import):
            for alias in node.names:
                top = alias.name.partition(".")[0]
                if top in _LIBRARY_OF:
                    yield _LIBRARY_OF[top]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            top = node.module.partition(".")[0]
            if top in _LIBRARY_OF:
                yield _LIBRARY_OF[top]


def _catches_import_error(handler: ast.ExceptHandler) -> bool:
    if handler.type is None:
        return True
    caught = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
    return any(
        (c.id if isinstance(c, ast.Name) else getattr(c, "attr", "")) in _IMPORT_ERRORS for c in caught
    )


def version_guards(ctx: FileContext) -> Guards:
    """Line ranges (first, last; 1-based, inclusive) of version-guarded code, per library (distribution name)."""
    guards: Guards = {}
    for node in ctx.nodes(ast.If, ast.IfExp, ast.While, ast.Try, ast.TryStar):
        libraries: set[str] = set()
        if isinstance(node, (ast.If, ast.IfExp, ast.While)):
            libraries.update(_libraries_named(ctx, node.test))
        elif isinstance(node, (ast.Try, ast.TryStar)) and any(_catches_import_error(h) for h in node.handlers):
            libraries.update(_imported_libraries(node.body))
        else:
            continue
        last = _fallback_end(ctx, node) if libraries else None
        for library in libraries:
            guards.setdefault(library, []).append((node.lineno, last or node.end_lineno or node.lineno))
    return guards


_EXITS = (ast.Return, ast.Raise, ast.Continue, ast.Break)


def _fallback_end(ctx: FileContext, node: ast.AST) -> int | None:
    """``if PYDANTIC_V2: return x.model_dump()`` followed by ``return x.dict()``: an ``if`` without ``else`` whose
    body always leaves makes the rest of its block the other branch; the last line of that block, else None."""
    if not (isinstance(node, ast.If) and not node.orelse and isinstance(node.body[-1], _EXITS)):
        return None
    parent = ctx.parent(node)
    for field in ("body", "orelse", "finalbody"):
        block = getattr(parent, field, None)
        if isinstance(block, list) and node in block:
            last: ast.stmt = block[-1]
            return last.end_lineno
    return None


def library_family(library: str) -> str:
    """The guard family of a distribution name (``starlette`` guards count for ``fastapi`` rules)."""
    return _LIBRARY_OF.get(library.replace("-", "_"), library)
