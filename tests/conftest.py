"""Shared fixtures: the real services (Postgres, Redis) when the environment names them, and the templates.

Postgres and Redis tests read ``TEST_DATABASE_URL`` (an SQLAlchemy async URL, e.g.
``postgresql+asyncpg://postgres@127.0.0.1:5432/test``) and ``TEST_REDIS_URL`` (e.g. ``redis://127.0.0.1:6379/15``).
Unset, those tests skip with the reason; set, they run, and fail if the service does not answer.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import socket
import sys
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parent.parent
TEMPLATES = REPO / "templates"
TEMPLATES_PACKAGE = "pf_templates"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def _service_url(variable: str, what: str) -> str:
    url = os.environ.get(variable)
    if not url:
        pytest.skip(f"{variable} is not set: set it to a reachable {what} to run this test (.ci/run does)")
    return url


@pytest.fixture
def database_url() -> str:
    """An async SQLAlchemy URL of a real PostgreSQL database."""
    return _service_url("TEST_DATABASE_URL", "PostgreSQL (postgresql+asyncpg://...)")


@pytest.fixture
def redis_url() -> str:
    """A URL of a real Redis database that tests may flush."""
    return _service_url("TEST_REDIS_URL", "Redis (redis://...)")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def templates_package() -> ModuleType:
    """templates/ imported as the package ``pf_templates`` (its modules import each other relatively)."""
    if TEMPLATES_PACKAGE in sys.modules:
        return sys.modules[TEMPLATES_PACKAGE]
    spec = importlib.util.spec_from_file_location(
        TEMPLATES_PACKAGE, TEMPLATES / "__init__.py", submodule_search_locations=[str(TEMPLATES)]
    )
    assert spec is not None
    assert spec.loader is not None
    package = importlib.util.module_from_spec(spec)
    sys.modules[TEMPLATES_PACKAGE] = package
    spec.loader.exec_module(package)
    return package


def import_template(name: str) -> ModuleType:
    """Import one template module, e.g. ``import_template("middleware")``."""
    templates_package()
    return importlib.import_module(f"{TEMPLATES_PACKAGE}.{name}")
