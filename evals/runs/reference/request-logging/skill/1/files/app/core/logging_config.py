"""Structured logging with structlog: one pipeline for structlog, stdlib and uvicorn records, request ID included.

Rules: PF201, PF202, PF203

Adopt: call ``configure_logging(level=..., json_logs=...)`` once, before the FastAPI app is created (``create_app``
does): configuring inside lifespan is too late, uvicorn's loggers already print in their own format by then. Log
with ``structlog.get_logger(__name__)`` and events plus fields: ``log.info("order_created", order_id=order.id)``.
JSON lines (tracebacks as structured dicts) in production, coloured console output in development.
"""

from __future__ import annotations

import logging
import sys
from typing import TextIO

import structlog
import structlog.tracebacks
from structlog.typing import EventDict, Processor

# uvicorn (and gunicorn, under uvicorn-worker) attach their own handlers and formats to these loggers. We strip
# them and let records propagate to the root handler, so there is one format. Their access loggers are muted:
# middleware.AccessLogMiddleware writes the access line, with the request ID and duration.
_SERVER_LOGGERS = ("uvicorn", "uvicorn.error", "gunicorn", "gunicorn.error")
_SERVER_ACCESS_LOGGERS = ("uvicorn.access", "gunicorn.access")


def _drop_color_message(_: object, __: str, event_dict: EventDict) -> EventDict:
    # uvicorn attaches an ANSI-coloured copy of some messages as an "extra"; it is noise in a JSON line.
    event_dict.pop("color_message", None)
    return event_dict


def _shared_processors() -> list[Processor]:
    """Steps applied to every record, ours and foreign (stdlib/uvicorn) alike."""
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


def configure_logging(*, level: str = "INFO", json_logs: bool = True, stream: TextIO | None = None) -> None:
    """Route structlog and stdlib logging through one handler (stdout unless ``stream``); safe to call again."""
    shared = _shared_processors()
    renderer: Processor
    final: list[Processor] = [structlog.stdlib.ProcessorFormatter.remove_processors_meta]
    if json_logs:
        # Tracebacks as data (frames, exception type, message) so a log platform can index them. Without the
        # frames' local variables, which structlog includes by default: they hold request scopes, tokens, passwords.
        final.append(
            structlog.processors.ExceptionRenderer(
                structlog.tracebacks.ExceptionDictTransformer(show_locals=False, max_frames=20)
            )
        )
        renderer = structlog.processors.JSONRenderer()
    else:
        renderer = structlog.dev.ConsoleRenderer()
    final.append(renderer)

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

    formatter = structlog.stdlib.ProcessorFormatter(foreign_pre_chain=shared, processors=final)
    handler = logging.StreamHandler(stream if stream is not None else sys.stdout)
    handler.setFormatter(formatter)

    root = logging.getLogger()
    # Replace, don't add: calling twice (tests, reloads) must not print every line twice.
    for existing in root.handlers[:]:
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(level.upper())

    for name in _SERVER_LOGGERS:
        server_logger = logging.getLogger(name)
        server_logger.handlers.clear()
        server_logger.propagate = True
    for name in _SERVER_ACCESS_LOGGERS:
        access_logger = logging.getLogger(name)
        access_logger.handlers.clear()
        access_logger.propagate = False
