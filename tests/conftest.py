"""Shared fixtures: the real services (Postgres, Redis) when the environment names them.

Helpers that tests import (free_port, import_template, ...) live in helpers.py: ``from helpers import ...``.

Postgres and Redis tests read ``TEST_DATABASE_URL`` (an SQLAlchemy async URL, e.g.
``postgresql+asyncpg://postgres@127.0.0.1:5432/test``) and ``TEST_REDIS_URL`` (e.g. ``redis://127.0.0.1:6379/15``).
Unset, those tests skip with the reason; set, they run, and fail if the service does not answer.
"""

from __future__ import annotations

import os

import pytest


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


@pytest.fixture(autouse=True)
def _private_review_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """The reviewer's per-user cache goes under a throwaway XDG_CACHE_HOME: tests never touch the real one."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("xdg-cache")))
    monkeypatch.delenv("PRODUCTION_FASTAPI_CACHE_DIR", raising=False)
