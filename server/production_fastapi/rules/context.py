"""What a check sees: one Python file, one non-Python file, or a whole project.

A :class:`FileContext` is built once per file on stdlib ``ast`` (fast, positions for free) and shared by every rule,
so the costly walks (parent links, the index of nodes by type, import resolution) happen once and only when a rule
asks for them.
"""

from __future__ import annotations

import ast
import fnmatch
import re
from collections.abc import Iterable, Iterator
from functools import cache, cached_property
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, TypeVar

from production_fastapi.rules.base import Violation
from production_fastapi.rules.names import ImportMap, fold_identifiers, imported_modules

if TYPE_CHECKING:
    from production_fastapi.review.targets import Targets
    from production_fastapi.rules.graph import AppGraph

__all__ = ["FileContext", "FunctionNode", "ProjectContext", "TextContext", "module_name_for"]

FunctionNode = ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda
_N = TypeVar("_N", bound=ast.AST)


def module_name_for(path: str) -> str | None:
    """The dotted module name a path most likely imports as (``app/api/users.py`` -> ``app.api.users``).

    Best effort: the path is taken relative to the project root by the caller. ``src/`` layouts drop the ``src``.
    """
    pure = PurePosixPath(path.replace("\\", "/"))
    if pure.suffix not in (".py", ".pyi"):
        return None
    parts = [p for p in pure.with_suffix("").parts if p not in ("", ".", "/")]
    if parts and parts[0] == "src":
        parts = parts[1:]
    if parts and parts[-1] == "__init__":
        parts = parts[:-1]
    if not parts or not all(p.isidentifier() for p in parts):
        return None
    return ".".join(parts)


#: One source line as the parser counts lines: form feeds and other Unicode breaks do not end a line.
_PARSER_LINE = re.compile(r"[^\r\n]*(?:\r\n?|\n)|[^\r\n]+\Z")


def _char_column(line: str, byte_offset: int) -> int:
    """``ast`` columns are UTF-8 byte offsets; users (and SARIF) count characters."""
    if line.isascii():
        return byte_offset
    return len(line.encode("utf-8")[:byte_offset].decode("utf-8", errors="replace"))


#: Fields holding only the shared singleton nodes CPython's parser reuses (``Load()``, ``Add()``...): never walked,
#: so they neither pollute the parent map nor cost a visit.
_SKIPPED_FIELDS = frozenset({"ctx", "op", "ops"})
#: Node types whose fields never hold a child node (names, literals, bare keywords). ``Name`` and ``Constant``
#: alone are about half of all nodes: not looking inside them makes the index about 20% cheaper.
_LEAF_NODE_TYPES = frozenset(
    {ast.Name, ast.Constant, ast.alias, ast.Pass, ast.Break, ast.Continue, ast.Global, ast.Nonlocal}
)


@cache
def _last_parts(qualified: tuple[str, ...]) -> tuple[str, ...]:
    return tuple({name.rpartition(".")[2] for name in qualified})


#: Fields that never hold a node (identifiers, flags, numbers): not even looked at by the index walk.
_SCALAR_FIELDS = frozenset(
    {"id", "arg", "attr", "module", "level", "asname", "kind", "type_comment", "conversion", "is_async", "simple",
     "tag"}
)
#: Per node type, the fields the index walk reads, last first (so children are pushed right to left).
_WALKED_FIELDS: dict[type[ast.AST], tuple[str, ...]] = {}


def _walked_fields(kind: type[ast.AST]) -> tuple[str, ...]:
    if kind in _LEAF_NODE_TYPES:
        fields: tuple[str, ...] = ()
    else:
        fields = tuple(f for f in reversed(kind._fields) if f not in _SKIPPED_FIELDS and f not in _SCALAR_FIELDS)
    _WALKED_FIELDS[kind] = fields
    return fields


def _children(node: ast.AST) -> list[ast.AST]:
    kind = node.__class__
    fields = _WALKED_FIELDS.get(kind)
    if fields is None:
        fields = _walked_fields(kind)
    children: list[ast.AST] = []
    for name in reversed(fields):
        value = getattr(node, name, None)
        if value.__class__ is list:
            children.extend(item for item in value if isinstance(item, ast.AST))
        elif isinstance(value, ast.AST):
            children.append(value)
    return children


def _build_index(tree: ast.AST) -> tuple[dict[ast.AST, ast.AST], dict[type[ast.AST], list[ast.AST]]]:
    """One depth-first pass: the parent of every node, and every node by exact type in source order.

    This is the engine's hottest loop (every file a rule looks into, every node), hence reading only the fields
    that can hold a child, per node type: ``ast.walk`` (generators) takes twice as long, and reading every value of
    a node's ``__dict__`` (four position numbers included) a third longer. The parser's shared singleton nodes
    (contexts, operators) sit in skipped fields, so they are never visited.
    """
    parents: dict[ast.AST, ast.AST] = {}
    by_type: dict[type[ast.AST], list[ast.AST]] = {}
    stack: list[ast.AST] = [tree]
    pop = stack.pop
    push = stack.append
    is_node = ast.AST
    walked = _WALKED_FIELDS
    while stack:
        node = pop()
        kind = node.__class__
        bucket = by_type.get(kind)
        if bucket is None:
            by_type[kind] = [node]
        else:
            bucket.append(node)
        fields = walked.get(kind)
        if fields is None:
            fields = _walked_fields(kind)
        # Push children right to left so the left-most is visited first: source order per type.
        for name in fields:
            value = getattr(node, name, None)
            if value.__class__ is list:
                for item in reversed(value):
                    if isinstance(item, is_node):
                        parents[item] = node
                        push(item)
            elif isinstance(value, is_node):
                parents[value] = node
                push(value)
    return parents, by_type


class FileContext:
    """One parsed Python file.

    ``path`` is the display path findings carry; ``module`` its dotted module name when known (relative imports and
    the project graph use it).
    """

    def __init__(self, path: str, source: str, tree: ast.Module, module: str | None = None) -> None:
        self.path = path
        self.source = source
        self.tree = tree
        self.module = module

    @cached_property
    def relative(self) -> str:
        """The file's path inside its project as far as the review knows it: from the module name (which the
        runner computes relative to the project root), else the display path. Contexts (``rules/contexts.py``)
        read it."""
        if self.module:
            last = self.path.replace("\\", "/").rpartition("/")[2]
            return self.module.replace(".", "/") + ("/__init__.py" if last == "__init__.py" else ".py")
        return self.path

    # --- source text -------------------------------------------------------------------------------------------

    @cached_property
    def lines(self) -> list[str]:
        """The source lines without line endings; ``lines[0]`` is line 1."""
        return self.source.splitlines()

    def line_text(self, lineno: int) -> str:
        return self.lines[lineno - 1] if 0 < lineno <= len(self.lines) else ""

    @cached_property
    def _parser_lines(self) -> list[str]:
        """The lines as the parser splits them (``\r``, ``\n``, ``\r\n`` only), endings kept."""
        return _PARSER_LINE.findall(self.source)

    def segment(self, node: ast.AST) -> str:
        """The exact source text of a node (empty when the node has no position).

        Same result as ``ast.get_source_segment``, which re-splits the whole source character by character on
        every call (seconds on a large file with a few dozen segments); the split lines are kept here instead.
        """
        lineno: int | None = getattr(node, "lineno", None)
        col: int | None = getattr(node, "col_offset", None)
        end_lineno: int | None = getattr(node, "end_lineno", None)
        end_col: int | None = getattr(node, "end_col_offset", None)
        if lineno is None or col is None or end_lineno is None or end_col is None:
            return ""
        lines = self._parser_lines
        if end_lineno == lineno:
            return lines[lineno - 1].encode()[col:end_col].decode()
        first = lines[lineno - 1].encode()[col:].decode()
        last = lines[end_lineno - 1].encode()[:end_col].decode()
        return "".join([first, *lines[lineno : end_lineno - 1], last])

    @cached_property
    def _searchable(self) -> str:
        """The source as the parser reads names: Python folds identifiers to NFKC (a fullwidth sleep *is* sleep)."""
        return fold_identifiers(self.source)

    def mentions(self, *words: str) -> bool:
        """A plain substring gate on the source: the cheapest way for a rule to return early.

        Searched in the NFKC form of a non-ASCII source, so a name spelled in compatibility characters still
        counts: a gate never hides a finding.
        """
        source = self._searchable
        return any(word in source for word in words)

    def search(self, pattern: re.Pattern[str]) -> re.Match[str] | None:
        """A regex gate on the source (in NFKC form, like :meth:`mentions`), for shapes a substring cannot pin."""
        return pattern.search(self._searchable)

    @cached_property
    def _lowered(self) -> str:
        return self._searchable.lower()

    def mentions_any_case(self, *words: str) -> bool:
        """:meth:`mentions` ignoring case (``words`` in lower case): for text such as HTTP header names, which code
        spells in any case."""
        lowered = self._lowered
        return any(word in lowered for word in words)

    def may_call(self, *qualified: str) -> bool:
        """Whether a call to one of these qualified names can be in the file at all.

        The last part of the name (``sleep`` of ``time.sleep``) is spelled somewhere in any file that calls it: at
        the call (``time.sleep(1)``) or in the import that renames it (``from time import sleep as nap``). So a
        file that never spells it needs no walk of its tree.
        """
        return self.mentions(*_last_parts(qualified))

    # --- tree structure ----------------------------------------------------------------------------------------

    @cached_property
    def _index(self) -> tuple[dict[ast.AST, ast.AST], dict[type[ast.AST], list[ast.AST]]]:
        return _build_index(self.tree)

    def children(self, node: ast.AST) -> list[ast.AST]:
        """The node's direct children in source order (cheaper than ``ast.iter_child_nodes`` in a hot loop)."""
        return _children(node)

    def nodes(self, *types: type[_N]) -> Iterator[_N]:
        """Every node of these exact types, in source order per type (``ctx.nodes(ast.Call)``)."""
        by_type = self._index[1]
        for kind in types:
            yield from by_type.get(kind, ())  # type: ignore[misc]

    def functions(self) -> Iterator[ast.FunctionDef | ast.AsyncFunctionDef]:
        """Every ``def`` and ``async def`` in the file (plain ones first)."""
        yield from self.nodes(ast.FunctionDef)
        yield from self.nodes(ast.AsyncFunctionDef)

    def assignments(self) -> Iterator[tuple[list[ast.expr], ast.expr]]:
        """``(targets, value)`` of every ``x = ...`` and annotated ``x: T = ...`` with a value."""
        for assign in self.nodes(ast.Assign):
            yield assign.targets, assign.value
        for annotated in self.nodes(ast.AnnAssign):
            if annotated.value is not None:
                yield [annotated.target], annotated.value

    def parent(self, node: ast.AST) -> ast.AST | None:
        return self._index[0].get(node)

    def ancestors(self, node: ast.AST) -> Iterator[ast.AST]:
        """The node's parents, nearest first, up to the module."""
        parents = self._index[0]
        current = parents.get(node)
        while current is not None:
            yield current
            current = parents.get(current)

    def enclosing_function(self, node: ast.AST) -> FunctionNode | None:
        """The innermost function (or lambda) whose body holds the node; None at module or class level.

        A decorator, default value or annotation belongs to the scope *around* its function, not to the function.
        """
        child = node
        for ancestor in self.ancestors(node):
            if isinstance(ancestor, (ast.FunctionDef, ast.AsyncFunctionDef)):
                if child in ancestor.body:
                    return ancestor
            elif isinstance(ancestor, ast.Lambda):
                if child is ancestor.body:
                    return ancestor
            elif isinstance(ancestor, ast.ClassDef) and child in ancestor.body:
                return None  # a class body runs where the class is defined, but its methods reset the scope
            child = ancestor
        return None

    def in_async_function(self, node: ast.AST) -> bool:
        """Whether the node runs on the event loop: inside an ``async def`` with no plain ``def``/lambda between.

        A sync function nested in an ``async def`` resets this: it may well be sent to a thread
        (``asyncio.to_thread``, ``run_in_threadpool``), so blocking calls there are not the loop's problem.
        """
        return isinstance(self.enclosing_function(node), ast.AsyncFunctionDef)

    # --- names -------------------------------------------------------------------------------------------------

    @cached_property
    def modules(self) -> frozenset[str]:
        """Top-level modules the file imports absolutely (``{"fastapi", "httpx"}``): cheap, no full index."""
        return imported_modules(self.tree)

    @cached_property
    def import_map(self) -> ImportMap:
        package = self.module
        if package is not None and not self.path.replace("\\", "/").endswith("__init__.py"):
            package = package.rpartition(".")[0]
        return ImportMap.from_index(self._index[1], self.modules, package)

    def imports(self, *modules: str) -> bool:
        """Whether the file imports any of these top-level modules (``ctx.imports("httpx", "requests")``)."""
        imported = self.modules
        return any(module in imported for module in modules)

    @cached_property
    def _qualified(self) -> dict[ast.expr, str | None]:
        return {}

    def qualified_name(self, node: ast.expr) -> str | None:
        """What a name or attribute chain refers to (``hx.get`` -> ``httpx.get``); None when unknown."""
        # Memoized per node: many rules resolve the same callees, and the tree never changes under a context.
        memo = self._qualified
        try:
            return memo[node]
        except KeyError:
            name = memo[node] = self.import_map.qualified_name(node)
            return name

    @cached_property
    def _resolved_calls(self) -> list[tuple[ast.Call, str]]:
        """Every call whose callee resolves to a qualified name, in source order: resolved once for all rules."""
        resolved: list[tuple[ast.Call, str]] = []
        for call in self.nodes(ast.Call):
            name = self.qualified_name(call.func)
            if name is not None:
                resolved.append((call, name))
        return resolved

    def calls(self, *qualified: str) -> Iterator[ast.Call]:
        """Every call whose callee resolves to one of these qualified names, in source order."""
        if not self.may_call(*qualified):
            return
        wanted = frozenset(qualified)
        for call, name in self._resolved_calls:
            if name in wanted:
                yield call

    # --- reporting ---------------------------------------------------------------------------------------------

    def violation(
        self,
        node: ast.AST,
        message: str | None = None,
        *,
        fixable: bool = True,
        end_node: ast.AST | None = None,
        breaking: bool = False,
        unsafe_fix: bool = False,
    ) -> Violation:
        """A violation spanning ``node`` (through ``end_node`` when given), with character columns.

        ``breaking`` and ``unsafe_fix`` are :class:`Violation`'s: this occurrence fails on the versions the rule
        targets / its fix is unsafe although the rule's is safe."""
        line = int(getattr(node, "lineno", 1))
        col = int(getattr(node, "col_offset", 0))
        last = end_node or node
        end_line = getattr(last, "end_lineno", None) or line
        end_col = getattr(last, "end_col_offset", None)
        if end_col is None:
            end_col = col
        return Violation(
            line=line,
            column=_char_column(self.line_text(line), col) + 1,
            end_line=int(end_line),
            end_column=_char_column(self.line_text(int(end_line)), int(end_col)) + 1,
            message=message,
            fixable=fixable,
            path=self.path,
            breaking=breaking,
            unsafe_fix=unsafe_fix,
        )


class TextContext:
    """One non-Python file a text rule asked for (Dockerfile, Procfile, shell script, gunicorn config...)."""

    def __init__(self, path: str, text: str) -> None:
        self.path = path
        self.text = text
        self.name = PurePosixPath(path.replace("\\", "/")).name

    @cached_property
    def lines(self) -> list[str]:
        return self.text.splitlines()

    def matches(self, *globs: str) -> bool:
        return any(fnmatch.fnmatchcase(self.name, glob) for glob in globs)

    def violation_at(
        self,
        line: int,
        column: int = 1,
        end_column: int | None = None,
        message: str | None = None,
        *,
        end_line: int | None = None,
    ) -> Violation:
        """A violation at 1-based ``line``/``column``; the end defaults to the end of the line."""
        end_line = end_line or line
        if end_column is None:
            end_column = len(self.lines[end_line - 1]) + 1 if 0 < end_line <= len(self.lines) else column
        return Violation(line, column, end_line, end_column, message=message, fixable=False, path=self.path)

    def violation_for_match(self, match: re.Match[str], message: str | None = None, group: int | str = 0) -> Violation:
        """A violation covering a regex match (or one group of it) found in ``self.text``."""
        start, end = match.span(group)
        line = self.text.count("\n", 0, start) + 1
        column = start - (self.text.rfind("\n", 0, start) + 1) + 1
        end_line = self.text.count("\n", 0, end) + 1
        end_column = end - (self.text.rfind("\n", 0, end) + 1) + 1
        return Violation(line, column, end_line, end_column, message=message, fixable=False, path=self.path)


class ProjectContext:
    """Every Python file of one project (as far as the review can see), for project-wide rules.

    ``complete`` is False when the engine saw only part of the project (``review_source`` of one file): rules that
    claim something is *missing* should then stay silent unless the file itself proves it.
    """

    def __init__(self, files: Iterable[FileContext], *, complete: bool = True, targets: Targets = ()) -> None:
        self.files = list(files)
        self.complete = complete
        #: The library versions the project declares (``production_fastapi.review.targets``); empty: undeclared.
        self.targets = targets
        self.by_module: dict[str, FileContext] = {f.module: f for f in self.files if f.module}

    @cached_property
    def graph(self) -> AppGraph:
        """The ``FastAPI()`` apps and ``APIRouter()`` routers of the project, linked through ``include_router``."""
        from production_fastapi.rules.graph import AppGraph

        return AppGraph.build(self)
