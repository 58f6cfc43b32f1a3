"""Which kind of code a place is: the running service, or a migration, test, script, example or debug-only block.

Rules declare the contexts they apply to (``Rule.contexts``); the engine asks :func:`context_at` where a finding sits
and drops it when the rule does not apply there. A file gets one context from its path (relative to its project)
and, for migrations and command-line programs (a ``__main__`` block that parses arguments, and no app or server),
from its content; inside a service file, ``if __name__ == "__main__":`` blocks and click/typer
commands are scripts, and blocks behind a debug or profiling flag are debug code.
"""

from __future__ import annotations

import ast
import re
from functools import lru_cache
from pathlib import PurePosixPath
from typing import TYPE_CHECKING

from production_fastapi.rules.base import Context

if TYPE_CHECKING:
    from production_fastapi.rules.context import FileContext

__all__ = ["context_at", "file_context", "is_main_guard", "path_context"]

_MIGRATION_DIRS = frozenset({"migrations", "alembic", "migration"})
_TEST_DIRS = frozenset({"tests", "test", "testing", "fixtures", "testutils", "test_utils"})
_EXAMPLE_DIRS = frozenset({"examples", "example", "docs", "doc", "docs_src", "tutorial", "tutorials", "samples"})
#: Third-party code copied in: the project runs it but does not own it.
_VENDOR_DIRS = frozenset({"third_party", "thirdparty", "3rdparty", "vendor", "vendored", "_vendor"})
_SCRIPT_DIRS = frozenset({"scripts", "script", "bin", "cli", "benchmarks", "bench"})
_SCRIPT_FILES = frozenset({"manage.py", "__main__.py", "cli.py", "setup.py", "noxfile.py"})
_TEST_FILES = frozenset({"conftest.py", "testing.py", "tests.py", "pytest_plugin.py"})
#: Django-style command folders (``<app>/management/commands/x.py``): one-off commands run from a shell.
_COMMAND_DIRS = frozenset({"management", "commands"})


@lru_cache(maxsize=4096)
def path_context(relative: str) -> Context:
    """The context a path alone decides (``relative`` is the path inside its project, POSIX style).

    Precedence: vendored, migration, test, example, script, service; a test under ``examples/`` is a test.
    """
    parts = PurePosixPath(relative.replace("\\", "/")).parts
    directories = {part.lower() for part in parts[:-1]}
    name = parts[-1].lower() if parts else ""
    stem = name.rsplit(".", 1)[0]
    if directories & _VENDOR_DIRS:
        return "vendored"
    if ("versions" in directories and directories & _MIGRATION_DIRS) or "migrations" in directories:
        return "migration"
    if stem in _MIGRATION_DIRS:  # a package's migrations as one module (`core/migrations.py`)
        return "migration"
    if directories & _TEST_DIRS or name in _TEST_FILES or stem.startswith("test_") or stem.endswith("_test"):
        return "test"
    if directories & _EXAMPLE_DIRS:
        return "example"
    if directories & _SCRIPT_DIRS or name in _SCRIPT_FILES or directories >= _COMMAND_DIRS:
        return "script"
    return "service"


_REVISION = re.compile(r"^down_revision\b", re.MULTILINE)
#: What a command-line program reads its arguments with.
_ARGUMENT_PARSERS = ("argparse", "click", "typer", "fire", "docopt", "sys.argv")
#: What a module that serves (or starts a server) mentions: such a program is the service, not a tool beside it.
_SERVES = ("FastAPI(", "Starlette(", "APIRouter(", "Router(", "uvicorn", "gunicorn", "hypercorn", "granian",
           ".launch(", "run_app(", "serve(", "Flask(")


def _is_command_line_program(ctx: FileContext) -> bool:
    """A benchmark, a data fetcher, a one-off tool: a module with a ``__main__`` block that parses command-line
    arguments and neither builds an app nor starts a server. Run by hand, not by the service."""
    if not ctx.mentions("__main__") or not ctx.mentions(*_ARGUMENT_PARSERS) or ctx.mentions(*_SERVES):
        return False
    return any(isinstance(node, ast.If) and is_main_guard(node.test) for node in ctx.tree.body)


def file_context(ctx: FileContext) -> Context:
    """The file's context: its path's, or "migration" for an Alembic revision wherever it lives."""
    cached: Context | None = getattr(ctx, "_pf_context", None)
    if cached is not None:
        return cached
    found = path_context(ctx.relative)
    if found == "service" and ctx.mentions("down_revision") and ctx.search(_REVISION) and "def upgrade(" in ctx.source:
        found = "migration"
    elif found == "service" and _is_command_line_program(ctx):
        found = "script"
    ctx._pf_context = found  # type: ignore[attr-defined]
    return found


def context_at(ctx: FileContext, line: int) -> Context:
    """The context of one line of the file: the file's, refined inside a service file by its blocks."""
    found = file_context(ctx)
    if found != "service":
        return found
    for start, end, context in _blocks(ctx):
        if start <= line <= end:
            return context
    return "service"


# --- blocks inside a service file --------------------------------------------------------------------------------

#: Flag names that mean "debugging or profiling only" (``settings.DEBUG``, ``ENABLE_PROFILING``, ``debug_mode``).
_DEBUG_NAME = re.compile(r"debug|profil|dev_?mode", re.IGNORECASE)
#: Environment names compared against (``if settings.ENV == "development":``).
_DEBUG_VALUES = frozenset({"dev", "development", "debug", "local"})
_COMMAND_DECORATORS = frozenset({"command", "group"})


def _blocks(ctx: FileContext) -> list[tuple[int, int, Context]]:
    """(first line, last line, context) of every script or debug block; computed once, only when a finding asks."""
    cached: list[tuple[int, int, Context]] | None = getattr(ctx, "_pf_blocks", None)
    if cached is not None:
        return cached
    blocks: list[tuple[int, int, Context]] = []
    for statement in ctx.nodes(ast.If):
        if is_main_guard(statement.test):
            blocks.append(_span(statement.body, "script"))
            continue
        flag = _debug_flag(statement.test)
        if flag is True:
            blocks.append(_span(statement.body, "debug"))
        elif flag is False and statement.orelse:
            blocks.append(_span(statement.orelse, "debug"))
    for function in ctx.functions():
        if any(_is_command(decorator) for decorator in function.decorator_list):
            blocks.append((function.lineno, function.end_lineno or function.lineno, "script"))
    ctx._pf_blocks = blocks  # type: ignore[attr-defined]
    return blocks


def _span(body: list[ast.stmt], context: Context) -> tuple[int, int, Context]:
    return body[0].lineno, body[-1].end_lineno or body[-1].lineno, context


def is_main_guard(test: ast.expr) -> bool:
    """``__name__ == "__main__"``, either way round."""
    if not (isinstance(test, ast.Compare) and len(test.comparators) == 1 and isinstance(test.ops[0], ast.Eq)):
        return False
    sides = (test.left, test.comparators[0])
    return any(isinstance(s, ast.Name) and s.id == "__name__" for s in sides) and any(
        isinstance(s, ast.Constant) and s.value == "__main__" for s in sides
    )


def _debug_flag(test: ast.expr) -> bool | None:
    """True when the test holds only when a debug flag is on, False when only when it is off, None otherwise."""
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        inner = _debug_flag(test.operand)
        return None if inner is None else not inner
    if isinstance(test, ast.BoolOp):
        # `if DEBUG and x:` runs only under the flag; `if DEBUG or x:` may run without it.
        flags = [_debug_flag(value) for value in test.values]
        if isinstance(test.op, ast.And) and True in flags:
            return True
        return None
    if isinstance(test, ast.Compare) and len(test.comparators) == 1:
        values = [test.left, test.comparators[0]]
        if any(
            isinstance(v, ast.Constant) and isinstance(v.value, str) and v.value.lower() in _DEBUG_VALUES
            for v in values
        ):
            if isinstance(test.ops[0], (ast.Eq, ast.In)):
                return True
            if isinstance(test.ops[0], (ast.NotEq, ast.NotIn)):
                return False
        return None
    return True if _names_debug_flag(test) else None


def _names_debug_flag(node: ast.expr) -> bool:
    """``DEBUG``, ``settings.debug``, ``app.debug``, ``os.getenv("PROFILE")``, ``os.environ.get("DEBUG")``,
    ``in_debug_mode()``, ``settings.is_dev_mode()``."""
    if isinstance(node, ast.Call) and not node.args and not node.keywords:
        # A predicate named for the flag: what it returns is the flag.
        return _names_debug_flag(node.func)
    if isinstance(node, ast.Name):
        return bool(_DEBUG_NAME.search(node.id))
    if isinstance(node, ast.Attribute):
        return bool(_DEBUG_NAME.search(node.attr))
    if isinstance(node, ast.Call) and node.args:
        first = node.args[0]
        callee = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
        if callee in ("getenv", "get", "bool", "int") and isinstance(first, ast.Constant):
            return isinstance(first.value, str) and bool(_DEBUG_NAME.search(first.value))
        if callee in ("bool", "int"):
            return _names_debug_flag(first)
    if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant):
        value = node.slice.value
        return isinstance(value, str) and bool(_DEBUG_NAME.search(value))
    return False


def _is_command(decorator: ast.expr) -> bool:
    """``@click.command()``, ``@cli.command()``, ``@app.command()`` (typer), ``@click.group()``."""
    target = decorator.func if isinstance(decorator, ast.Call) else decorator
    return isinstance(target, ast.Attribute) and target.attr in _COMMAND_DECORATORS
