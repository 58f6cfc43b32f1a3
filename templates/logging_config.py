"""Structured logging with structlog: one JSON format for structlog, stdlib and uvicorn records, request ID included.

Rules: PF201, PF202, PF203, PF204

Adopt: call ``configure_logging(level=..., json_logs=...)`` once, before the FastAPI app is created (``create_app``
does): configuring inside lifespan is too late, uvicorn's loggers already print in their own format by then. Log
with ``structlog.get_logger(__name__)`` and events plus fields: ``log.info("order_created", order_id=order.id)``.
JSON lines (tracebacks as structured dicts) in production, coloured console output in development.

structlog events are rendered by structlog itself and written straight to stdout (the fast path: the access line
costs a fraction of a stdlib round trip); stdlib records are formatted by the root handler with the same
processors. Tests that read structlog events use ``structlog.testing.capture_logs()``; pass
``route_through_stdlib=True`` if pytest's ``caplog`` or your own stdlib handlers must see them too.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import sys
from typing import Any, ClassVar, TextIO

import structlog
import structlog.tracebacks
from structlog.typing import EventDict, Processor

# uvicorn (and gunicorn, under uvicorn-worker) attach their own handlers and formats to these loggers. We strip
# them and let records propagate to the root handler, so there is one format. Their access loggers are muted:
# middleware.ProductionMiddleware writes the access line, with the request ID and duration.
_SERVER_LOGGERS = ("uvicorn", "uvicorn.error", "gunicorn", "gunicorn.error")
_SERVER_ACCESS_LOGGERS = ("uvicorn.access", "gunicorn.access")


def _drop_color_message(_: object, __: str, event_dict: EventDict) -> EventDict:
    # uvicorn attaches an ANSI-coloured copy of some messages as an "extra"; it is noise in a JSON line.
    event_dict.pop("color_message", None)
    return event_dict


def _shared_processors() -> list[Processor]:
    """Steps applied to foreign (stdlib/uvicorn) records before the final ones."""
    return [
        # Request-scoped fields (request_id, ...) bound with structlog.contextvars.bound_contextvars.
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.ExtraAdder(),
        _drop_color_message,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.StackInfoRenderer(),
    ]


def _native_processors() -> list[Processor]:
    """The same fields for structlog's own events, minus the steps that only make sense for a stdlib record."""
    return [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        # Reads the ``name`` our logger factory gives each logger, like stdlib's logger.name.
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.StackInfoRenderer(),
    ]


def _final_processors(json_logs: bool) -> list[Processor]:
    if not json_logs:
        return [structlog.dev.ConsoleRenderer()]
    return [
        # Tracebacks as data (frames, exception type, message) so a log platform can index them. Without the
        # frames' local variables, which structlog includes by default: they hold request scopes, tokens, passwords.
        structlog.processors.ExceptionRenderer(
            structlog.tracebacks.ExceptionDictTransformer(show_locals=False, max_frames=20)
        ),
        structlog.processors.JSONRenderer(),
    ]


class _NamedWriteLogger(structlog.WriteLogger):
    """structlog's plain line writer, plus the ``name`` that ``add_logger_name`` reports as the ``logger`` field."""

    def __init__(self, file: TextIO, name: str) -> None:
        super().__init__(file)
        self.name = name


class _NamedWriteLoggerFactory:
    def __init__(self, file: TextIO) -> None:
        self._file = file

    def __call__(self, *args: Any) -> _NamedWriteLogger:
        # structlog.get_logger(__name__) passes the name through; a nameless get_logger() logs as "root".
        name = args[0] if args and isinstance(args[0], str) else "root"
        return _NamedWriteLogger(self._file, name)


class JSONLines:
    """Where structlog's own events go when they are rendered natively as JSON, and the lowest level written.

    The access log uses it to write its line without structlog's processor chain (a line per request, the hottest
    log call there is): ``render`` builds the same dictionary the chain in ``_native_processors`` builds, in the same
    key order, so the line is byte for byte what ``logger.info(...)`` would print. Anything the chain would treat
    differently (a context value JSON can't encode, a bound ``exc_info`` or ``stack_info``) makes ``render`` return
    None and the caller logs through structlog instead. If you add a processor to ``_native_processors``, add its
    field here too (``test_tpl_logging`` compares the two).
    """

    # The output configure_logging set up last; None when structlog's events go elsewhere (console, stdlib).
    configured: ClassVar[JSONLines | None] = None

    def __init__(self, stream: TextIO, level: int, logger_factory: object, processors: list[Processor]) -> None:
        self.stream = stream
        self.level = level
        # The configuration this output stands for; json_lines() compares it with structlog's current one.
        self.logger_factory = logger_factory
        self.processors = tuple(processors)

    def render(self, level_name: str, logger_name: str, event: str, fields: dict[str, Any]) -> str | None:
        """The line ``logger.<level_name>(event, **fields)`` would write, or None when only the chain can render it."""
        event_dict = {**fields, "event": event}
        # merge_contextvars: bound values never replace the call's own fields.
        for key, value in structlog.contextvars.get_contextvars().items():
            event_dict.setdefault(key, value)
        if "exc_info" in event_dict or "stack_info" in event_dict:
            return None
        event_dict["level"] = level_name
        event_dict["logger"] = logger_name
        # TimeStamper(fmt="iso", utc=True), exactly.
        event_dict["timestamp"] = dt.datetime.now(tz=dt.UTC).isoformat().replace("+00:00", "Z")
        try:
            return json.dumps(event_dict)
        except (TypeError, ValueError):
            return None  # JSONRenderer's fallback (repr, __structlog__) decides what such a value looks like

    def write(self, line: str) -> None:
        # One write of the whole line, then a flush: what structlog's WriteLogger does for every event.
        self.stream.write(line + "\n")
        self.stream.flush()


def json_lines() -> JSONLines | None:
    """The native JSON output ``configure_logging`` set up, or None when structlog events are rendered otherwise.

    None as well once structlog runs another configuration (``structlog.testing.capture_logs()``, an application
    that reconfigures, tests restoring theirs): the access line then goes through structlog like any event.
    """
    output = JSONLines.configured
    if output is None:
        return None
    config = structlog.get_config()
    if config["logger_factory"] is not output.logger_factory or tuple(config["processors"]) != output.processors:
        return None
    return output


def _level_number(level: str) -> int:
    levels = logging.getLevelNamesMapping()
    name = level.upper()
    if name not in levels or name == "NOTSET":
        msg = f"unknown log level {level!r}: use DEBUG, INFO, WARNING, ERROR or CRITICAL"
        raise ValueError(msg)
    return levels[name]


def configure_logging(
    *, level: str = "INFO", json_logs: bool = True, stream: TextIO | None = None, route_through_stdlib: bool = False
) -> None:
    """One format for structlog and stdlib records on stdout (or ``stream``); safe to call again.

    structlog's own events (the access line, the app's) are rendered by structlog and written straight to the
    stream: routing each through stdlib logging (a LogRecord, a handler, ProcessorFormatter) cost about 100 us per
    line, most of this stack's overhead per request. Records from stdlib loggers (uvicorn, gunicorn, SQLAlchemy,
    libraries) still go through the root handler with the same processors, so every line has the same fields. The
    price: structlog events no longer reach stdlib handlers, so pytest's ``caplog`` and handlers you add to the
    root logger don't see them. Pass ``route_through_stdlib=True`` when you need that (or use
    ``structlog.testing.capture_logs()`` in tests).
    """
    numeric_level = _level_number(level)
    out = stream if stream is not None else sys.stdout
    shared = _shared_processors()
    final = _final_processors(json_logs)

    if route_through_stdlib:
        structlog.configure(
            processors=[
                structlog.stdlib.filter_by_level,
                structlog.stdlib.PositionalArgumentsFormatter(),
                *shared,
                # Hand the event dict to ProcessorFormatter, which renders it together with foreign records.
                structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
            ],
            logger_factory=structlog.stdlib.LoggerFactory(),
            wrapper_class=structlog.stdlib.BoundLogger,
            cache_logger_on_first_use=True,
        )
        JSONLines.configured = None
    else:
        factory = _NamedWriteLoggerFactory(out)
        processors = [*_native_processors(), *final]
        JSONLines.configured = JSONLines(out, numeric_level, factory, processors) if json_logs else None
        structlog.configure(
            processors=processors,
            logger_factory=factory,
            # Calls below the level cost a method call returning None: no event dict is even built.
            wrapper_class=structlog.make_filtering_bound_logger(numeric_level),
            cache_logger_on_first_use=True,
        )

    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared, processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *final]
    )
    handler = logging.StreamHandler(out)
    handler.setFormatter(formatter)

    root = logging.getLogger()
    # Replace, don't add: calling twice (tests, reloads) must not print every line twice.
    for existing in root.handlers[:]:
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(numeric_level)

    for name in _SERVER_LOGGERS:
        server_logger = logging.getLogger(name)
        server_logger.handlers.clear()
        server_logger.propagate = True
    for name in _SERVER_ACCESS_LOGGERS:
        access_logger = logging.getLogger(name)
        access_logger.handlers.clear()
        access_logger.propagate = False
