"""Fixtures of the eval harness tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from pf_evals_helpers import build_tiny_task

from production_fastapi.evals.tasks import Task, load_task


@pytest.fixture
def tiny_task(tmp_path: Path) -> Task:
    return load_task(build_tiny_task(tmp_path / "tasks"))
