"""The generated project, for real: installed in its own venv, its suite green, lint and types clean, reviewed
with zero findings, migrated with Alembic, and served by ``fastapi run`` and gunicorn + uvicorn-worker.

One project per configuration is generated and installed per module (the expensive part) and shared by its tests.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from helpers import free_port
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from production_fastapi.scaffold import generate
from scaffold.project import Project, install, serve, stop

NAME = "orders-service"
PACKAGE = "orders_service"


@pytest.fixture(scope="module")
def default_project(tmp_path_factory: pytest.TempPathFactory) -> Project:
    root = tmp_path_factory.mktemp("default") / NAME
    generate(NAME, root)
    return install(root, PACKAGE, tmp_path_factory.mktemp("default-venv"))


@pytest.fixture(scope="module")
def infra_project(tmp_path_factory: pytest.TempPathFactory) -> Project:
    root = tmp_path_factory.mktemp("infra") / NAME
    generate(NAME, root, database="postgres", redis=True)
    return install(root, PACKAGE, tmp_path_factory.mktemp("infra-venv"))


@pytest.fixture(scope="module")
def default_image(default_project: Project, tmp_path_factory: pytest.TempPathFactory) -> Project:
    """The default project installed as the Dockerfile installs it: not editable, run from a folder without source."""
    return install(
        default_project.root, PACKAGE, tmp_path_factory.mktemp("image-venv"), image=tmp_path_factory.mktemp("srv")
    )


def assert_passed(done: subprocess.CompletedProcess[str]) -> None:
    assert done.returncode == 0, f"{done.stdout}\n{done.stderr}"


async def _admin(url: str, statement: str) -> None:
    engine = create_async_engine(url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            await connection.execute(text(statement))
    finally:
        await engine.dispose()


@pytest.fixture
def fresh_postgres(database_url: str) -> Iterator[str]:
    """A database of our own on the test server, dropped afterwards: nobody else's tables are touched."""
    name = f"pf_scaffold_{uuid.uuid4().hex[:12]}"
    asyncio.run(_admin(database_url, f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(database_url).set(database=name).render_as_string(hide_password=False)
    finally:
        asyncio.run(_admin(database_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _summary(done: subprocess.CompletedProcess[str]) -> str:
    return done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""


# --- its own test suite -------------------------------------------------------------------------------------------


def test_default_project_suite_passes_on_embedded_defaults(default_project: Project) -> None:
    done = default_project.run("pytest", "-q", "-p", "no:cacheprovider")
    assert_passed(done)
    assert re.search(r"\b\d+ passed\b", _summary(done)), done.stdout
    assert "skipped" not in _summary(done)


def test_infra_project_suite_passes_on_postgres_and_redis(
    infra_project: Project, database_url: str, redis_url: str
) -> None:
    env = {"TEST_DATABASE_URL": database_url, "TEST_REDIS_URL": redis_url}
    done = infra_project.run("pytest", "-q", "-p", "no:cacheprovider", env=env)
    assert_passed(done)
    assert "skipped" not in _summary(done)


def test_default_project_suite_also_runs_on_real_services(
    default_project: Project, database_url: str, redis_url: str
) -> None:
    """A sqlite-default project moves to PostgreSQL and Redis by environment alone."""
    env = {"TEST_DATABASE_URL": database_url, "TEST_REDIS_URL": redis_url}
    assert_passed(default_project.run("pytest", "-q", "-p", "no:cacheprovider", "-k", "items or health", env=env))


# --- lint, types, review ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("which", ["default_project", "infra_project"])
def test_ruff_and_strict_mypy_are_clean(which: str, request: pytest.FixtureRequest) -> None:
    project: Project = request.getfixturevalue(which)
    assert_passed(project.run("ruff", "check", "--no-cache", "."))
    cache = project.root.parent / ".mypy_cache"
    done = project.run("mypy", "--strict", "--cache-dir", str(cache))
    assert_passed(done)
    assert "Success: no issues found" in done.stdout


@pytest.mark.parametrize("which", ["default_project", "infra_project"])
def test_review_finds_nothing(which: str, request: pytest.FixtureRequest) -> None:
    project: Project = request.getfixturevalue(which)
    done = subprocess.run(
        [sys.executable, "-m", "production_fastapi", "review", str(project.root)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, f"review reported:\n{done.stdout}\n{done.stderr}"


# --- migrations ---------------------------------------------------------------------------------------------------


def test_alembic_upgrade_head_on_sqlite(default_project: Project, tmp_path: Path) -> None:
    database = tmp_path / "service.db"
    env = {"DATABASE_URL": f"sqlite+aiosqlite:///{database}"}
    assert_passed(default_project.run("alembic", "upgrade", "head", env=env))
    current = default_project.run("alembic", "current", env=env)
    assert_passed(current)
    assert "0001 (head)" in current.stdout
    with sqlite3.connect(database) as connection:
        columns = [row[1] for row in connection.execute("PRAGMA table_info(items)")]
    assert columns == ["id", "name", "description", "price_cents"]


def test_alembic_upgrade_head_on_postgres(infra_project: Project, fresh_postgres: str) -> None:
    env = {"DATABASE_URL": fresh_postgres}
    assert_passed(infra_project.run("alembic", "upgrade", "head", env=env))
    current = infra_project.run("alembic", "current", env=env)
    assert "0001 (head)" in current.stdout, current.stderr

    async def tables() -> list[str]:
        engine = create_async_engine(fresh_postgres)
        try:
            async with engine.connect() as connection:
                result = await connection.execute(
                    text("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename")
                )
                return [row[0] for row in result]
        finally:
            await engine.dispose()

    assert asyncio.run(tables()) == ["alembic_version", "items"]


def test_autogenerated_migration_is_clean_and_applies(default_project: Project, tmp_path: Path) -> None:
    """The next migration a developer writes starts lint- and type-clean (script.py.mako) and applies."""
    root = tmp_path / "copy"
    shutil.copytree(default_project.root, root)
    # Same venv; alembic.ini's prepend_sys_path puts the copy's package first on sys.path.
    project = Project(root=root, package=PACKAGE, python=default_project.python)
    models = root / PACKAGE / "models.py"
    source = models.read_text(encoding="utf-8")
    models.write_text(
        source.replace(
            "    price_cents: Mapped[int]\n",
            "    price_cents: Mapped[int]\n    sku: Mapped[str | None] = mapped_column(String(40))\n",
        ),
        encoding="utf-8",
    )
    env = {"DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'dev.db'}"}
    assert_passed(project.run("alembic", "upgrade", "head", env=env))
    assert_passed(project.run("alembic", "revision", "--autogenerate", "-m", "add sku", env=env))
    (revision,) = (root / "migrations" / "versions").glob("*_add_sku.py")
    assert "add_column(sa.Column('sku'" in revision.read_text(encoding="utf-8")
    assert_passed(project.run("ruff", "check", "--no-cache", str(revision)))
    assert_passed(project.run("mypy", "--strict", "--cache-dir", str(tmp_path / ".mypy_cache"), str(revision)))
    assert_passed(project.run("alembic", "upgrade", "head", env=env))
    assert_passed(project.run("alembic", "downgrade", "-1", env=env))


# --- serving ------------------------------------------------------------------------------------------------------


def _dockerfile_command(project: Project) -> list[str]:
    """The image's CMD, so the gunicorn test runs exactly what the container would."""
    match = re.search(r"^CMD \[(.*)\]$", (project.root / "Dockerfile").read_text(encoding="utf-8"), re.M)
    assert match, "the Dockerfile has no exec-form CMD"
    return [part.strip().strip('"') for part in match.group(1).split(",")]


def _check_serving_and_clean_exit(
    project: Project, command: list[str], port: int, env: dict[str, str], *, exit_codes: set[int], migrate: bool = True
) -> None:
    if migrate:
        # As a release would: migrate first, then start the new version.
        assert_passed(project.run("alembic", "upgrade", "head", env=env))
    with serve(project, command, port, env) as server:
        live = server.get("/health/live")
        assert live.status_code == 200
        assert live.headers["x-request-id"]
        ready = server.get("/health/ready")
        assert ready.status_code == 200, ready.text
        expected = {"database": "ok", "schema": "ok"} | ({"redis": "ok"} if "REDIS_URL" in env else {})
        assert ready.json()["checks"] == expected
        created = httpx.post(f"{server.base_url}/items", json={"name": "lamp", "price_cents": 4999}, timeout=5)
        assert created.status_code == 201, created.text
        assert server.get(f"/items/{created.json()['id']}").json()["name"] == "lamp"
        missing = server.get("/items/424242")
        assert (missing.status_code, missing.headers["content-type"]) == (404, "application/problem+json")
        code, output = stop(server)
    assert code in exit_codes, output
    # The lifespan's shutdown ran to the end (engine disposed, clients closed), with no error on the way.
    assert "shutdown_started" in output
    assert "Application shutdown complete" in output, output
    assert "Traceback" not in output, output


def test_fastapi_run_serves_and_stops_cleanly(default_project: Project, tmp_path: Path) -> None:
    port = free_port()
    env = {"DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'run.db'}"}
    command = ["fastapi", "run", "--host", "127.0.0.1", "--port", str(port)]
    # uvicorn re-raises the SIGTERM it handled once shutdown is complete, so the conventional status is -SIGTERM.
    _check_serving_and_clean_exit(default_project, command, port, env, exit_codes={0, -signal.SIGTERM})


def test_gunicorn_with_uvicorn_worker_serves_and_stops_cleanly(
    default_project: Project, default_image: Project, tmp_path: Path
) -> None:
    """The image's command, on an install like the image's: gunicorn_conf and the app come from the package."""
    command = _dockerfile_command(default_project)
    assert command[0] == "gunicorn"
    assert f"{PACKAGE}.app:app" in command
    port = free_port()
    env = {"PORT": str(port), "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'run.db'}", "WEB_CONCURRENCY": "2"}
    assert_passed(default_project.run("alembic", "upgrade", "head", env=env))
    assert not list(default_image.root.iterdir()), "the image's working directory holds no source"
    _check_serving_and_clean_exit(default_image, command, port, env, exit_codes={0}, migrate=False)


def test_sqlite_default_project_serves_from_postgres_and_redis_by_environment(
    default_project: Project, fresh_postgres: str, redis_url: str
) -> None:
    """No regeneration: DATABASE_URL and REDIS_URL alone move the sqlite-default service to real infrastructure."""
    port = free_port()
    env = {"PORT": str(port), "DATABASE_URL": fresh_postgres, "REDIS_URL": redis_url}
    _check_serving_and_clean_exit(default_project, _dockerfile_command(default_project), port, env, exit_codes={0})
