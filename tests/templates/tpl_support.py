"""Helpers for the template tests: settings that need no services, and a real app with its lifespan running.

Not a conftest: tests/conftest.py already owns that module name, and this folder has no __init__.py because a
package named ``templates`` would collide with the repository's templates/ package.
"""

from __future__ import annotations

import io
import json
import logging
import sys
import uuid
from collections.abc import AsyncIterator, Iterable, Iterator
from contextlib import asynccontextmanager
from types import ModuleType
from typing import Any

import httpx
import pytest
import structlog
from fastapi import APIRouter, FastAPI
from helpers import import_template

_SERVER_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access", "gunicorn", "gunicorn.error", "gunicorn.access")


@pytest.fixture(autouse=True)
def isolated_logging() -> Iterator[None]:
    """Put logging and structlog back as they were: create_app reconfigures both, process-wide.

    Test modules import this fixture by name so it applies to them (autouse fixtures work per module).
    """
    root = logging.getLogger()
    saved_root = (root.handlers[:], root.level)
    saved = {
        name: (lg.handlers[:], lg.level, lg.propagate) for name in _SERVER_LOGGERS for lg in [logging.getLogger(name)]
    }
    saved_structlog = structlog.get_config()
    yield
    root.handlers[:] = saved_root[0]
    root.setLevel(saved_root[1])
    for name, (handlers, level, propagate) in saved.items():
        logger = logging.getLogger(name)
        logger.handlers[:] = handlers
        logger.setLevel(level)
        logger.propagate = propagate
    structlog.configure(**saved_structlog)
    # The templates' module loggers cache the logger of the configuration they first logged under
    # (cache_logger_on_first_use, right for a service that configures logging once): forget that cache, so the
    # next test's configure_logging(stream=...) reaches them. The cache is the bound method the proxy set on itself.
    for module in list(sys.modules.values()):
        proxy = getattr(module, "logger", None) if getattr(module, "__name__", "").startswith("pf_templates") else None
        if isinstance(proxy, structlog._config.BoundLoggerLazyProxy):
            vars(proxy).pop("bind", None)


def tpl(name: str) -> ModuleType:
    return import_template(name)


def make_settings(**overrides: Any) -> Any:
    """Settings for one test: in-memory SQLite, no Redis, a unique app name (so Redis keys never collide)."""
    values: dict[str, Any] = {
        "environment": "test",
        "database_url": "sqlite+aiosqlite:///:memory:",
        "app_name": f"pf-tpl-{uuid.uuid4().hex[:12]}",
    }
    values.update(overrides)
    return tpl("settings").Settings(**values)


@asynccontextmanager
async def running_app(
    settings: Any | None = None,
    routers: Iterable[APIRouter] = (),
    *,
    base_url: str = "http://testserver",
    client: tuple[str, int] = ("127.0.0.1", 50000),
    logs: io.StringIO | None = None,
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    """``create_app`` from the templates with its lifespan entered, and an httpx client speaking ASGI to it.

    With ``logs``, JSON log lines go to that buffer instead of stdout.
    """
    app = tpl("main").create_app(settings if settings is not None else make_settings(), routers=routers)
    if logs is not None:
        tpl("logging_config").configure_logging(level="DEBUG", json_logs=True, stream=logs)
    # raise_app_exceptions=False: Starlette re-raises after sending the 500; a server would log it, we look at the
    # response.
    transport = httpx.ASGITransport(app, raise_app_exceptions=False, client=client)
    async with app.router.lifespan_context(app), httpx.AsyncClient(transport=transport, base_url=base_url) as http:
        yield app, http


def json_lines(buffer: io.StringIO) -> list[dict[str, Any]]:
    lines = [line for line in buffer.getvalue().splitlines() if line.strip()]
    return [json.loads(line) for line in lines]
