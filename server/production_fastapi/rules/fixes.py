"""Automatic fixes: libcst transformers the engine runs where a rule reported, preserving formatting and comments.

Detection runs on ``ast`` (fast); a fix needs a lossless tree, so it runs on libcst, and only on files that have a
fixable finding. A rule names its fix as ``fix="production_fastapi.rules.<module>:<Class>"`` so that loading the
rules never imports libcst (about 150 ms): this module is imported only when a fix is applied.

A fix class subclasses :class:`FixTransformer`. It receives the positions the rule reported and must change only
nodes there (``self.is_target(node)``), so a ``# noqa`` on one occurrence keeps that occurrence untouched. It may
ask for imports to be added (``self.add_import("asyncio")``) or dropped when no longer used
(``self.remove_import_if_unused("time")``); the engine does that after the transform with libcst's codemod
visitors.

Example (Before/After)::

    class SleepToAsyncioSleep(FixTransformer):
        '''Before: ``time.sleep(1)`` in an ``async def``. After: ``await asyncio.sleep(1)``.'''

        def leave_Expr(self, original_node: cst.Expr, updated_node: cst.Expr) -> cst.Expr:
            if isinstance(original_node.value, cst.Call) and self.is_target(original_node.value):
                ...
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

import libcst as cst
import libcst.helpers
from libcst.codemod import CodemodContext
from libcst.codemod.visitors import AddImportsVisitor, RemoveImportsVisitor
from libcst.metadata import MetadataWrapper, PositionProvider

from production_fastapi.rules.base import Rule

__all__ = ["FixError", "FixTransformer", "Located", "apply_rule_fixes", "load_fix"]


class FixError(Exception):
    """A fix could not be loaded or produced invalid code (the engine then leaves the file unchanged)."""


class FixTransformer(cst.CSTTransformer):
    """Base class of every fix: knows where the rule fired and collects the imports the change needs."""

    METADATA_DEPENDENCIES = (PositionProvider,)

    def __init__(self, targets: Iterable[tuple[int, int]]) -> None:
        super().__init__()
        #: (line, column) pairs, both 1-based, columns in characters: where the rule's violations start.
        self.targets: frozenset[tuple[int, int]] = frozenset(targets)
        #: The lines alone, for nodes whose libcst start differs from ``ast`` (decorated definitions start at
        #: their first decorator in libcst, at ``def`` in ``ast``).
        self.target_lines: frozenset[int] = frozenset(line for line, _ in self.targets)
        self.imports_to_add: list[tuple[str, str | None]] = []
        self.imports_to_remove: list[tuple[str, str | None]] = []

    def position(self, node: cst.CSTNode) -> tuple[int, int]:
        """The node's start as (line, column), both 1-based, as the rule's violation would report it."""
        start = self.get_metadata(PositionProvider, node).start
        return start.line, start.column + 1

    def is_target(self, node: cst.CSTNode) -> bool:
        """Whether the rule reported a violation starting exactly where this node starts."""
        return self.position(node) in self.targets

    def on_target_line(self, node: cst.CSTNode) -> bool:
        """Whether the rule reported a violation on one of the lines this node spans."""
        code_range = self.get_metadata(PositionProvider, node)
        return any(code_range.start.line <= line <= code_range.end.line for line in self.target_lines)

    def add_import(self, module: str, name: str | None = None) -> None:
        """``add_import("asyncio")`` -> ``import asyncio``; ``add_import("x", "y")`` -> ``from x import y``."""
        self.imports_to_add.append((module, name))

    def remove_import_if_unused(self, module: str, name: str | None = None) -> None:
        self.imports_to_remove.append((module, name))


class Located(Protocol):
    """Where a rule fired: a Violation or a Finding (both carry these)."""

    @property
    def line(self) -> int: ...
    @property
    def column(self) -> int: ...
    @property
    def fixable(self) -> bool: ...


@dataclass(frozen=True, slots=True)
class _Applied:
    module: cst.Module
    changed: bool


def load_fix(rule: Rule) -> type[FixTransformer]:
    """Import the fix class a rule names (``"package.module:Class"``)."""
    if rule.fix is None:
        raise FixError(f"{rule.code} has no fix")
    module_name, _, attr = rule.fix.partition(":")
    try:
        fix = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise FixError(f"{rule.code}: cannot load fix {rule.fix}: {exc}") from exc
    if not (isinstance(fix, type) and issubclass(fix, FixTransformer)):
        raise FixError(f"{rule.code}: {rule.fix} is not a FixTransformer subclass")
    return fix


def _import_aliases(small: cst.BaseSmallStatement, module: str, name: str | None) -> Sequence[cst.ImportAlias]:
    """The aliases of ``import module`` (name None) or ``from module import ...`` in one small statement."""
    if name is None:
        return small.names if isinstance(small, cst.Import) else ()
    if (
        isinstance(small, cst.ImportFrom)
        and small.module is not None
        and not small.relative
        and cst.helpers.get_full_name_for_node(small.module) == module
        and not isinstance(small.names, cst.ImportStar)
    ):
        return small.names
    return ()


def _aliases(module: cst.Module, wanted_module: str, wanted_name: str | None) -> list[str | None]:
    """Every spelling under which a module (or a name from it) is imported: removal must name the alias."""
    found: list[str | None] = [None]
    target = wanted_module if wanted_name is None else wanted_name
    for statement in module.body:
        if not isinstance(statement, cst.SimpleStatementLine):
            continue
        for small in statement.body:
            for alias in _import_aliases(small, wanted_module, wanted_name):
                if cst.helpers.get_full_name_for_node(alias.name) == target and alias.asname is not None:
                    asname = alias.asname.name
                    if isinstance(asname, cst.Name):
                        found.append(asname.value)
    return found


#: Where a rewritten ``from`` import must fit on one line to be joined back into one (ruff/black's default).
_LINE_LENGTH = 88


def _name_order(alias: cst.ImportAlias) -> tuple[int, str]:
    """isort's order-by-type, as ruff applies it: CONSTANTS, then Classes, then functions and variables."""
    name = cst.helpers.get_full_name_for_node(alias.name) or ""
    return (0 if name.isupper() and len(name) > 1 else 1 if name[:1].isupper() else 2, name)


def _alias_code(alias: cst.ImportAlias) -> str:
    code = cst.helpers.get_full_name_for_node(alias.name) or ""
    if alias.asname is not None:
        asname = alias.asname.name
        if isinstance(asname, cst.Name):
            code += f" as {asname.value}"
    return code


def _tidy_from_import(statement: cst.SimpleStatementLine, before: set[str]) -> cst.SimpleStatementLine:
    """A ``from`` import a fix changed, written as a formatter would: inserted names merged in sorted order (when
    the statement was sorted before), one line when it fits, else one name per line in parentheses."""
    small = statement.body[0]
    if len(statement.body) != 1 or not isinstance(small, cst.ImportFrom) or isinstance(small.names, cst.ImportStar):
        return statement
    if small.relative or small.module is None:
        return statement
    names = list(small.names)
    old = [a for a in names if _alias_code(a) in before]
    if old == sorted(old, key=_name_order):
        names.sort(key=_name_order)
    else:
        names = old + sorted((a for a in names if a not in old), key=_name_order)
    module = cst.helpers.get_full_name_for_node(small.module)
    parts = [_alias_code(a) for a in names]
    line = f"from {module} import {', '.join(parts)}"
    code = line if len(line) <= _LINE_LENGTH else "\n".join(
        [f"from {module} import (", *(f"    {part}," for part in parts), ")"]
    )
    rebuilt = cst.parse_statement(code + "\n")
    assert isinstance(rebuilt, cst.SimpleStatementLine)
    return rebuilt.with_changes(leading_lines=statement.leading_lines)


def _from_imports(module: cst.Module) -> dict[str, tuple[str, set[str]]]:
    """Top-level ``from x import ...`` statements by code, with the names each imports."""
    found: dict[str, tuple[str, set[str]]] = {}
    for statement in module.body:
        if isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1:
            small = statement.body[0]
            if isinstance(small, cst.ImportFrom) and small.module is not None and not isinstance(
                small.names, cst.ImportStar
            ):
                name = cst.helpers.get_full_name_for_node(small.module) or ""
                found[module.code_for_node(statement)] = (name, {_alias_code(a) for a in small.names})
    return found


def _tidy_imports(original: cst.Module, updated: cst.Module, touched: set[str]) -> cst.Module:
    """Re-format the ``from`` imports of ``touched`` modules that the fix changed; leave every other line as is.

    libcst's import visitors put new names first and leave ``from x import (\n    y)`` behind when they remove
    names; a fix must leave imports the way the project's formatter would."""
    before = _from_imports(original)
    names_before: dict[str, set[str]] = {}
    for name, names in before.values():
        names_before.setdefault(name, set()).update(names)
    body: list[cst.BaseStatement] = []
    changed = False
    for statement in updated.body:
        code = updated.code_for_node(statement)
        if code not in before and isinstance(statement, cst.SimpleStatementLine):
            small = statement.body[0] if len(statement.body) == 1 else None
            if isinstance(small, cst.ImportFrom) and small.module is not None:
                name = cst.helpers.get_full_name_for_node(small.module) or ""
                if name in touched:
                    tidy = _tidy_from_import(statement, names_before.get(name, set()))
                    changed = changed or tidy is not statement
                    body.append(tidy)
                    continue
        body.append(statement)
    return updated.with_changes(body=body) if changed else updated


def _apply_one(module: cst.Module, fix: type[FixTransformer], violations: Sequence[Located]) -> _Applied:
    transformer = fix((v.line, v.column) for v in violations)
    updated = MetadataWrapper(module).visit(transformer)
    touched = {mod for mod, _ in (*transformer.imports_to_add, *transformer.imports_to_remove)}
    if transformer.imports_to_add:
        context = CodemodContext()
        for mod, name in transformer.imports_to_add:
            AddImportsVisitor.add_needed_import(context, mod, name)
        updated = AddImportsVisitor(context).transform_module(updated)
    if transformer.imports_to_remove:
        context = CodemodContext()
        for mod, name in transformer.imports_to_remove:
            for asname in _aliases(updated, mod, name):
                RemoveImportsVisitor.remove_unused_import(context, mod, name, asname)
        updated = RemoveImportsVisitor(context).transform_module(updated)
    if touched:
        updated = _tidy_imports(module, updated, touched)
    return _Applied(updated, not updated.deep_equals(module))


def apply_rule_fixes(source: str, fixes: Sequence[tuple[Rule, Sequence[Located]]]) -> str:
    """Apply each rule's fix at its violations, in order, and return the new source (unchanged if none applied).

    Raises :class:`FixError` when the result no longer parses: a fix must never break a file.
    """
    try:
        module = cst.parse_module(source)
    except cst.ParserSyntaxError as exc:
        raise FixError(f"libcst cannot parse the file: {exc.message}") from exc
    changed = False
    for rule, violations in fixes:
        fixable = [v for v in violations if v.fixable]
        if not fixable:
            continue
        applied = _apply_one(module, load_fix(rule), fixable)
        module, changed = applied.module, changed or applied.changed
    if not changed:
        return source
    code = module.code
    try:
        compile(code, "<fixed>", "exec", dont_inherit=True)
    except (SyntaxError, ValueError) as exc:
        raise FixError(f"a fix produced invalid code ({exc}); the file was left unchanged") from exc
    return code
