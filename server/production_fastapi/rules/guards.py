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

Both branches of such an ``if`` (and ternary) and every part of such a ``try`` are guarded: a finding of a rule
conditioned on that library (``Rule.versions``) is not reported there, and a file holding any guard for the library
gets no fix from those rules (a fix would add the unconditional import the guard exists to avoid).
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
_IMPORT_ERRORS = frozenset({"ImportError", "ModuleNotFoundError", "AttributeError", "Exception"})
#: A cheap text test: a file without any of these has no guard (most files).
GUARD_HINT = re.compile(r"(?i)version|_v\d|ImportError|ModuleNotFoundError|AttributeError|hasattr|Exception")

Guards = dict[str, list[tuple[int, int]]]


def _libraries_named(test: ast.expr) -> Iterator[str]:
    """The libraries a condition tests the version (or features) of."""
    for node in ast.walk(test):
        if isinstance(node, ast.Name):
            match = _VERSION_NAME.search(node.id)
            if match:
                yield _LIBRARY_OF[match[1].lower()]
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
            libraries.update(_libraries_named(node.test))
        elif isinstance(node, (ast.Try, ast.TryStar)) and any(_catches_import_error(h) for h in node.handlers):
            libraries.update(_imported_libraries(node.body))
        else:
            continue
        for library in libraries:
            guards.setdefault(library, []).append((node.lineno, node.end_lineno or node.lineno))
    return guards


def library_family(library: str) -> str:
    """The guard family of a distribution name (``starlette`` guards count for ``fastapi`` rules)."""
    return _LIBRARY_OF.get(library.replace("-", "_"), library)
