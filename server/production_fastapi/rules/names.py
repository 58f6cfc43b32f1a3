"""Qualified names: which module a name in a file really comes from.

Rules match on what code *means*, not how it is spelled: ``import httpx as hx; hx.get(...)`` and
``from time import sleep as nap; nap(1)`` resolve to ``httpx.get`` and ``time.sleep``. ``httpx2`` (the fork
Starlette 1.x's TestClient imports) resolves to ``httpx``: the two share an API and the same production traps.
A builtin resolves to ``builtins.<name>`` unless the file binds that name itself, so a module that defines its own
``open`` is never mistaken for one that calls the builtin.
"""

from __future__ import annotations

import ast
import builtins
import unicodedata
from typing import TypeVar

__all__ = ["ImportMap", "fold_identifiers", "imported_modules", "normalize_module"]

#: Modules that are drop-in spellings of another: rules see the canonical name.
_MODULE_ALIASES = {"httpx2": "httpx"}

_BUILTINS = frozenset(dir(builtins))
_N = TypeVar("_N", bound=ast.AST)
_AMBIGUOUS = ""


def normalize_module(dotted: str) -> str:
    """``httpx2.AsyncClient`` -> ``httpx.AsyncClient``; anything else unchanged."""
    head, dot, rest = dotted.partition(".")
    canonical = _MODULE_ALIASES.get(head)
    return canonical + dot + rest if canonical else dotted


def _resolve_relative(module: str | None, level: int, package: str | None) -> str | None:
    """Turn ``from ..x import y`` into an absolute module name, when the file's package is known."""
    if level == 0:
        return module
    if package is None:
        return None
    parts = package.split(".") if package else []
    if level - 1 > len(parts):
        return None
    base = parts[: len(parts) - (level - 1)]
    if module:
        base.append(module)
    return ".".join(base) if base else None


#: Statements that hold other statements, and the fields that hold them: an import can sit only in these.
_COMPOUND_BODIES: dict[type[ast.AST], tuple[str, ...]] = {
    ast.FunctionDef: ("body",),
    ast.AsyncFunctionDef: ("body",),
    ast.ClassDef: ("body",),
    ast.If: ("body", "orelse"),
    ast.For: ("body", "orelse"),
    ast.AsyncFor: ("body", "orelse"),
    ast.While: ("body", "orelse"),
    ast.With: ("body",),
    ast.AsyncWith: ("body",),
    ast.Try: ("body", "orelse", "finalbody"),
    ast.TryStar: ("body", "orelse", "finalbody"),
}


def imported_modules(tree: ast.Module) -> frozenset[str]:
    """The top-level modules a file imports absolutely, from a walk of its statements only.

    Imports are statements, so the walk never enters an expression: about a tenth of the nodes a full walk visits.
    This is what the engine gates rules on, so a file no rule can match never pays for the full node index that
    the rest of :class:`ImportMap` needs.
    """
    modules: set[str] = set()
    stack: list[ast.stmt] = list(tree.body)
    pop = stack.pop
    compound = _COMPOUND_BODIES
    while stack:
        node = pop()
        kind = node.__class__
        if kind is ast.Import:
            for alias in node.names:  # type: ignore[attr-defined]
                modules.add(normalize_module(alias.name).partition(".")[0])
        elif kind is ast.ImportFrom:
            if node.level == 0 and node.module:  # type: ignore[attr-defined]
                modules.add(normalize_module(node.module).partition(".")[0])  # type: ignore[attr-defined]
        elif kind is ast.Match:
            for case in node.cases:  # type: ignore[attr-defined]
                stack.extend(case.body)
        else:
            fields = compound.get(kind)
            if fields is None:
                continue
            for name in fields:
                stack.extend(getattr(node, name))
            if kind is ast.Try or kind is ast.TryStar:
                for handler in node.handlers:  # type: ignore[attr-defined]
                    stack.extend(handler.body)
    return frozenset(modules)


def fold_identifiers(text: str) -> str:
    """Text as the parser reads names: Python folds identifiers to NFKC (a fullwidth ``sleep`` *is* ``sleep``), so
    a text search for a name is only sound on the folded text."""
    return text if text.isascii() else unicodedata.normalize("NFKC", text)


class ImportMap:
    """The names a module binds by import, resolved to qualified names.

    Built from every import statement in the file (module level, functions, ``if TYPE_CHECKING``): a linter cannot
    know which branch runs, and the same name imported two different ways is treated as unknown (rules stay
    silent). ``package`` is the file's own package (``app.api`` for ``app/api/users.py``) so relative imports
    resolve; None leaves them unresolved.
    """

    __slots__ = ("_aliases", "_locals", "modules")

    def __init__(self, tree: ast.Module, package: str | None = None) -> None:
        by_type: dict[type[ast.AST], list[ast.AST]] = {}
        for node in ast.walk(tree):
            by_type.setdefault(type(node), []).append(node)
        self._build(by_type, imported_modules(tree), package)

    @classmethod
    def from_index(
        cls, by_type: dict[type[ast.AST], list[ast.AST]], modules: frozenset[str], package: str | None = None
    ) -> ImportMap:
        """Build from what ``FileContext`` already computed (the node index and :func:`imported_modules`): no
        second walk of the tree."""
        instance = cls.__new__(cls)
        instance._build(by_type, modules, package)
        return instance

    def _build(
        self, by_type: dict[type[ast.AST], list[ast.AST]], modules: frozenset[str], package: str | None
    ) -> None:
        aliases: dict[str, str] = {}
        bound: set[str] = set()

        def bind(local: str, qualified: str) -> None:
            previous = aliases.get(local)
            aliases[local] = qualified if previous in (None, qualified) else _AMBIGUOUS

        def of(kind: type[_N]) -> list[_N]:
            return by_type.get(kind, [])  # type: ignore[return-value]

        for imp in of(ast.Import):
            for alias in imp.names:
                name = normalize_module(alias.name)
                head = name.partition(".")[0]
                if alias.asname:
                    bind(alias.asname, name)
                else:
                    bind(alias.name.partition(".")[0], head)
        for imp_from in of(ast.ImportFrom):
            source = _resolve_relative(imp_from.module, imp_from.level, package)
            for alias in imp_from.names:
                if alias.name == "*":
                    continue
                local = alias.asname or alias.name
                if source is None:
                    bound.add(local)
                else:
                    bind(local, normalize_module(f"{source}.{alias.name}"))
        bound.update(f.name for f in of(ast.FunctionDef))
        bound.update(f.name for f in of(ast.AsyncFunctionDef))
        bound.update(c.name for c in of(ast.ClassDef))
        bound.update(n.id for n in of(ast.Name) if n.ctx.__class__ is not ast.Load)
        bound.update(a.arg for a in of(ast.arg))
        bound.update(h.name for h in of(ast.ExceptHandler) if h.name)
        bound.update(m.name for m in of(ast.MatchAs) if m.name)
        bound.update(m.name for m in of(ast.MatchStar) if m.name)
        bound.update(m.rest for m in of(ast.MatchMapping) if m.rest)
        for global_ in of(ast.Global):
            bound.update(global_.names)
        for nonlocal_ in of(ast.Nonlocal):
            bound.update(nonlocal_.names)
        self._aliases = aliases
        self._locals = frozenset(bound - aliases.keys())
        #: Top-level modules the file imports absolutely (``{"fastapi", "httpx", "time"}``).
        self.modules = modules

    def resolve_name(self, name: str) -> str | None:
        """The qualified name a bare name refers to, or None when it is a local or ambiguous binding."""
        qualified = self._aliases.get(name)
        if qualified is not None:
            return qualified or None
        if name in self._locals:
            return None
        if name in _BUILTINS:
            return f"builtins.{name}"
        return None

    def qualified_name(self, node: ast.expr) -> str | None:
        """``hx.AsyncClient`` -> ``httpx.AsyncClient`` when ``import httpx as hx``; None when not an import."""
        attrs: list[str] = []
        while isinstance(node, ast.Attribute):
            attrs.append(node.attr)
            node = node.value
        if not isinstance(node, ast.Name):
            return None
        base = self.resolve_name(node.id)
        if base is None:
            return None
        if base.startswith("builtins.") and attrs:
            return None  # ``open.x`` on a builtin is never what a rule means
        return ".".join([base, *reversed(attrs)])

    def imports(self, *modules: str) -> bool:
        """Whether the file imports any of these top-level modules (a cheap gate before a rule walks the tree)."""
        return any(module in self.modules for module in modules)

    def local_names_for(self, qualified: str) -> list[str]:
        """The local names bound to exactly this qualified name (``["hx"]`` for ``import httpx as hx``)."""
        return [local for local, target in self._aliases.items() if target == qualified]
