"""Templates copied without logging_config.py: a logged exception must not print the frames' local variables.

Unconfigured, structlog renders tracebacks through rich when it is installed, with every frame's locals: a DSN's
password in a failed readiness check, a token in an unhandled error. Found by an eval agent that copied
health_checks.py alone. Each template that logs exceptions configures plain tracebacks when nobody configured
structlog, and leaves an existing configuration alone. Every case runs in a fresh interpreter, as a service would.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import TEMPLATES

SECRET = "s3cret-Pa55word"
LOGGING_TEMPLATES = ("health_checks", "error_handlers", "rate_limiting", "database")

SCRIPT = """
import importlib
import sys

import structlog

module = sys.argv[1]
if sys.argv[2] == "configured":
    marker = structlog.processors.KeyValueRenderer()
    structlog.configure(processors=[marker])
logger = importlib.import_module(module).logger if module != "-" else structlog.stdlib.get_logger("x")
if sys.argv[2] == "configured":
    assert structlog.get_config()["processors"] == [marker], "an existing configuration was replaced"


def connect(dsn: str) -> None:
    raise ConnectionError("connection refused")


try:
    dsn = "postgresql://orders:%s@db:5432/orders"
    connect(dsn)
except ConnectionError as exc:
    logger.warning("check_failed", exc_info=exc)
"""


def _run(tmp_path: Path, module: str, mode: str = "unconfigured") -> str:
    package = tmp_path / "app"
    if not package.exists():
        package.mkdir()
        (package / "__init__.py").write_text("", encoding="utf-8")
        for template in TEMPLATES.glob("*.py"):
            shutil.copy2(template, package / template.name)
    env = {**os.environ, "PYTHONPATH": str(tmp_path), "COLUMNS": "120", "TERM": "dumb"}
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT % SECRET, module, mode],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout + done.stderr


def test_unconfigured_structlog_prints_locals_when_rich_is_installed(tmp_path: Path) -> None:
    # The hazard itself, so the tests below can fail: without a template, the secret reaches the output.
    pytest.importorskip("rich")
    assert SECRET in _run(tmp_path, "-")


@pytest.mark.parametrize("name", LOGGING_TEMPLATES)
def test_template_alone_logs_a_plain_traceback_without_locals(tmp_path: Path, name: str) -> None:
    output = _run(tmp_path, f"app.{name}")
    assert "check_failed" in output
    assert "ConnectionError: connection refused" in output
    assert SECRET not in output


@pytest.mark.parametrize("name", LOGGING_TEMPLATES)
def test_template_leaves_an_existing_configuration_alone(tmp_path: Path, name: str) -> None:
    output = _run(tmp_path, f"app.{name}", "configured")
    assert "check_failed" in output
