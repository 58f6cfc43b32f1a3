"""Fixtures of the eval harness tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from pf_evals_helpers import build_tiny_task

from production_fastapi.evals.paths import tasks_root
from production_fastapi.evals.reference import record_reference
from production_fastapi.evals.tasks import Task, load_task, load_tasks

# The synthetic reference is no longer stored: the tests record a slice of it at test time. launch-ready's oracle
# is made of templates (so its record must hold references, not copies); spa-cors is quick and hand-written.
REFERENCE_TASKS = ["launch-ready", "spa-cors"]


@pytest.fixture
def tiny_task(tmp_path: Path) -> Task:
    return load_task(build_tiny_task(tmp_path / "tasks"))


@pytest.fixture(scope="session")
def reference_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Bad variants as "baseline" and oracles as "skill" (one trial each), recorded leanly in a temporary run."""
    out = tmp_path_factory.mktemp("reference") / "reference"
    record_reference(load_tasks(tasks_root(), REFERENCE_TASKS), out, trials=1)
    return out
