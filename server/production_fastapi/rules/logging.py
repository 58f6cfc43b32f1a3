"""Area 2, logging: structured events through one configured pipeline, never ``print`` or ad-hoc setup."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from production_fastapi.rules._helpers import dotted, method_call_gate, string_value
from production_fastapi.rules.async_rules import assigned_values
from production_fastapi.rules.base import RuleDocs, Violation, file_rule
from production_fastapi.rules.context import FileContext
from production_fastapi.rules.contexts import is_main_guard

_LOG_METHODS = frozenset({"debug", "info", "warning", "warn", "error", "exception", "critical", "fatal", "msg"})
_LOGGER_FACTORIES = frozenset(
    {
        "logging.getLogger",
        "structlog.get_logger",
        "structlog.getLogger",
        "structlog.stdlib.get_logger",
        "structlog.wrap_logger",
    }
)
#: Names that mean "the logger" by near-universal convention, when the file doesn't bind them to something else.
_CONVENTIONAL = frozenset({"logger", "log", "_logger", "_log", "LOGGER", "LOG", "_LOGGER"})


def _under_main_guard(ctx: FileContext, node: ast.AST) -> bool:
    """Inside ``if __name__ == "__main__":``: a developer entry point, not the running service."""
    return any(isinstance(a, ast.If) and is_main_guard(a.test) for a in ctx.ancestors(node))


@file_rule(
    code="PF201",
    opt_in="`print` is often deliberate console output (startup banners, command-line helpers inside a package)",
    name="print-call",
    severity="warning",
    message="`print()` in application code: log a structured event instead",
    skill_section="Logging",
    template="logging_config.py",
    requires=("fastapi", "starlette"),
    docs=RuleDocs(
        what_it_does="Flags `print()` in modules of a FastAPI/Starlette application (outside an "
        "`if __name__ == \"__main__\":` block).",
        why="`print` writes unstructured text to stdout with no level, no timestamp, no request ID and no JSON: "
        "log pipelines can't parse, filter or alert on it, and it bypasses the logging configuration entirely. "
        "Block-buffered stdout in a container can also hold it back until the process exits.",
        example='''\
from fastapi import FastAPI

app = FastAPI()


@app.post("/orders")
async def create_order(sku: str) -> dict[str, str]:
    print(f"creating order for {sku}")
    return {"sku": sku}
''',
        use_instead='''\
import structlog
from fastapi import FastAPI

app = FastAPI()
logger = structlog.get_logger()


@app.post("/orders")
async def create_order(sku: str) -> dict[str, str]:
    logger.info("order_created", sku=sku)
    return {"sku": sku}
''',
    ),
)
def print_call(ctx: FileContext) -> Iterator[Violation]:
    for call in ctx.calls("builtins.print"):
        if not _under_main_guard(ctx, call):
            yield ctx.violation(call)


@file_rule(
    code="PF202",
    opt_in="judged debatable on unseen code: an import-time basicConfig is often a library's or a tool's own choice",
    name="logging-basicconfig",
    severity="warning",
    message="`logging.basicConfig()` at import time: configure structured logging once, at startup",
    skill_section="Logging",
    template="logging_config.py",
    requires=("logging",),
    docs=RuleDocs(
        what_it_does="Flags `logging.basicConfig()` run by importing a module: at module level, in a file that "
        "has no `if __name__ == \"__main__\":` block. Calls inside a function (an explicit setup step the entry "
        "point runs) and in entry-point scripts are left alone.",
        why="An import-time `basicConfig` installs a plain-text handler on the root logger of whatever process "
        "imports the module, and does nothing at all if a handler is already there, so what the service logs "
        "depends on import order. uvicorn's loggers keep their own handlers, so the service ends up with two "
        "formats in one stream and no JSON. Configure logging once, explicitly, where the service starts.",
        example='''\
import logging

from fastapi import FastAPI

logging.basicConfig(level=logging.INFO)
app = FastAPI()
''',
        use_instead='''\
from fastapi import FastAPI

from app.logging_config import configure_logging

configure_logging(level="INFO", json_logs=True)
app = FastAPI()
''',
    ),
)
def logging_basicconfig(ctx: FileContext) -> Iterator[Violation]:
    calls = [call for call in ctx.calls("logging.basicConfig") if _at_import_time(ctx, call)]
    # A file with a `__main__` block is an entry point: its module-level setup runs when it is the program.
    if calls and not any(is_main_guard(node.test) for node in ctx.nodes(ast.If)):
        yield from (ctx.violation(call) for call in calls)


def _at_import_time(ctx: FileContext, node: ast.AST) -> bool:
    """Run by importing the module: at module level, outside functions and class bodies."""
    return ctx.enclosing_function(node) is None and not any(
        isinstance(ancestor, ast.ClassDef) for ancestor in ctx.ancestors(node)
    )


def _loggers(ctx: FileContext) -> tuple[set[str], set[str]]:
    """Names bound to a logger, and names bound to something else at module level."""
    loggers: set[str] = set()
    others: set[str] = set()
    for statement in ctx.tree.body:
        if isinstance(statement, (ast.Assign, ast.AnnAssign)) and statement.value is not None:
            targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
            value = statement.value
            is_logger = isinstance(value, ast.Call) and ctx.qualified_name(value.func) in _LOGGER_FACTORIES
            if isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute) and value.func.attr == "bind":
                is_logger = is_logger or dotted(value.func.value) in loggers
            for target in targets:
                if isinstance(target, ast.Name):
                    (loggers if is_logger else others).add(target.id)
    return loggers, others


def _is_logger(ctx: FileContext, receiver: ast.expr, loggers: set[str], others: set[str]) -> bool:
    qualified = ctx.qualified_name(receiver)
    if qualified in ("logging", "loguru.logger", "structlog"):
        return qualified != "structlog"
    name = dotted(receiver)
    if name is None:
        return False
    if name in loggers:
        return True
    last = name.rpartition(".")[2]
    return last in _CONVENTIONAL and name not in others


_LOG_METHOD_CALL = method_call_gate({*_LOG_METHODS, "log"})


def _eager_format(node: ast.expr) -> bool:
    if isinstance(node, ast.JoinedStr):
        return any(isinstance(v, ast.FormattedValue) for v in node.values)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod):
        return string_value(node.left) is not None
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "format"
        and string_value(node.func.value) is not None
    )


@file_rule(
    code="PF203",
    opt_in="style: formatting a log message eagerly costs little and is almost always a matter of taste",
    name="log-message-formatting",
    severity="info",
    message="log message formatted in place: log a fixed event name with the values as fields",
    skill_section="Logging",
    template="logging_config.py",
    docs=RuleDocs(
        what_it_does="Flags logger calls whose message is built with an f-string, `%` or `.format()` (stdlib's "
        "lazy `logger.info(\"x %s\", value)` arguments are fine).",
        why="A message with the values baked in is a new string every time: log search can't group the events, "
        "alerts can't count them, and the values can't be filtered as fields. Formatting also runs even when the "
        "level is disabled. A fixed event name plus key-value fields is what JSON logs are for.",
        example='''\
import logging

logger = logging.getLogger(__name__)


def ship(order_id: int, carrier: str) -> None:
    logger.info(f"shipping order {order_id} with {carrier}")
''',
        use_instead='''\
import structlog

logger = structlog.get_logger()


def ship(order_id: int, carrier: str) -> None:
    logger.info("order_shipping", order_id=order_id, carrier=carrier)
''',
    ),
)
def log_message_formatting(ctx: FileContext) -> Iterator[Violation]:
    if not (ctx.mentions("log", "LOG") and ctx.mentions("{", "%", "format") and ctx.search(_LOG_METHOD_CALL)):
        return  # no logger, no f-string field, `%` or `.format` to build a message with, or no log method called
    loggers, others = _loggers(ctx)
    for call in ctx.nodes(ast.Call):
        func = call.func
        if not isinstance(func, ast.Attribute):
            continue
        if func.attr in _LOG_METHODS:
            message = call.args[0] if call.args else None
        elif func.attr == "log":
            message = call.args[1] if len(call.args) > 1 else None
        else:
            continue
        if message is not None and _eager_format(message) and _is_logger(ctx, func.value, loggers, others):
            yield ctx.violation(call)


#: Keyword arguments of stdlib's logging calls: options of the record, never formatting values.
_STDLIB_OPTIONS = frozenset({"exc_info", "stack_info", "stacklevel", "extra"})


@file_rule(
    code="PF204",
    opt_in="judged wrong as often as right on unseen code: the values baked in are mostly labels and numbers",
    name="log-message-formatted-twice",
    severity="warning",
    message="log message is formatted in place and again by the logger with its arguments: a `%` or `{` in the "
    "values breaks the call",
    skill_section="Logging",
    template="logging_config.py",
    docs=RuleDocs(
        what_it_does="Flags logger calls whose message is already formatted (an f-string with fields, `%` or "
        "`.format()`) and that also pass formatting arguments: positional arguments to any logger, and keyword "
        "arguments to loguru's `logger`, which formats the message with them too.",
        why="The logger formats the message a second time with those arguments: stdlib logging applies "
        "`message % args`, loguru `message.format(*args, **kwargs)`. Whatever was baked in first is now read as a "
        "format string, so a value holding `%` or `{` (an error text, a URL, user input) makes stdlib print a "
        "\"Logging error\" traceback and drop the record, and makes loguru raise in the caller: a log line that "
        "fails exactly when something already went wrong.",
        example='''\
import logging

logger = logging.getLogger(__name__)


def charge_failed(order_id: int, error: Exception) -> None:
    logger.warning(f"charge failed for {order_id}: {error}", RuntimeWarning)
''',
        use_instead='''\
import logging

logger = logging.getLogger(__name__)


def charge_failed(order_id: int, error: Exception) -> None:
    logger.warning("charge failed for %s: %s", order_id, error)
''',
    ),
)
def log_message_formatted_twice(ctx: FileContext) -> Iterator[Violation]:
    if not (ctx.mentions("log", "LOG") and ctx.mentions("{", "%", "format") and ctx.search(_LOG_METHOD_CALL)):
        return  # the same gate as PF203: every match is also an eagerly formatted log message
    loggers, others = _loggers(ctx)
    for call in ctx.nodes(ast.Call):
        func = call.func
        if not isinstance(func, ast.Attribute):
            continue
        position = 0 if func.attr in _LOG_METHODS else 1 if func.attr == "log" else None
        if position is None or len(call.args) <= position:
            continue
        message = call.args[position]
        if not _eager_format(message) or not _is_logger(ctx, func.value, loggers, others):
            continue
        if isinstance(message, ast.JoinedStr) and all(
            _inert(ctx, part.value, call) for part in message.values if isinstance(part, ast.FormattedValue)
        ):
            continue  # every value baked in is a fixed label: nothing in it can be read as a format field
        extra_args = len(call.args) > position + 1
        # loguru formats with keyword arguments as well; stdlib's keywords are record options.
        loguru = ctx.qualified_name(func.value) == "loguru.logger"
        keywords = [k for k in call.keywords if k.arg is not None and k.arg not in _STDLIB_OPTIONS]
        if extra_args or (loguru and keywords):
            yield ctx.violation(call)


def _inert(ctx: FileContext, value: ast.expr, at: ast.AST) -> bool:
    """A value whose text can hold no `%`, `{` or `}`: a number, such a string literal, a choice between them, or a
    local name only ever assigned those (``side = "long" if buy else "short"``)."""
    if isinstance(value, ast.Constant):
        return not (isinstance(value.value, str) and any(c in value.value for c in "%{}"))
    if isinstance(value, ast.IfExp):
        return _inert(ctx, value.body, at) and _inert(ctx, value.orelse, at)
    if isinstance(value, ast.Name):
        assigned = assigned_values(ctx, value.id, at)
        return bool(assigned) and all(
            not isinstance(v, ast.Name) and _inert(ctx, v, at) for v in assigned or ()
        )
    return False
