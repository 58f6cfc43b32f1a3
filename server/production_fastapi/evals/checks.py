"""Run a task's hidden checks against a tree of files, in a pristine copy, in a subprocess.

The agent's files are copied into a fresh folder; the hidden tests, the starter's original tests and the support
module go into ``_eval_checks/`` beside them, so nothing the agent wrote (a conftest, a pytest config, edited
starter tests) can change how it is judged. pytest runs with its own ini file, ``--confcutdir`` and importlib mode,
under a wall-clock timeout. An outcome the agent is not responsible for (the run timed out as a whole, pytest could
not start, a third-party module is missing) is an *infrastructure* error, counted apart from failed checks.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from production_fastapi.evals.tasks import Task, copy_tree

__all__ = ["CHECK_DIR", "CheckOutcome", "CheckRun", "run_checks", "support_dir"]

CHECK_DIR = "_eval_checks"
Outcome = Literal["passed", "failed", "skipped"]
# Plugin autoloading is off (it costs more than a second per run with a full dev environment installed, and an
# agent's environment could bring plugins that change outcomes); the plugins the checks need are named here.
_PYTEST_INI = """\
[pytest]
addopts = -p no:cacheprovider -p anyio -p pf_eval_plugin{timeout_plugin}
{timeout_line}"""
_CONFTEST = '''\
"""Written by the eval harness: the fixtures every hidden test may use."""

import pytest


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
'''
_MISSING_MODULE = re.compile(r"ModuleNotFoundError: No module named '([\w.]+)'")


def support_dir() -> Path:
    """``evals/support/``: the plugin and helpers copied next to the hidden tests."""
    from production_fastapi.evals.paths import evals_root

    return evals_root() / "support"


@dataclass(frozen=True, slots=True)
class CheckOutcome:
    check: str
    outcome: Outcome
    detail: str = ""


@dataclass(slots=True)
class CheckRun:
    """Outcomes of one pristine run; ``infra_error`` set means the outcomes say nothing about the agent."""

    outcomes: dict[str, CheckOutcome] = field(default_factory=dict)
    infra_error: str | None = None
    seconds: float = 0.0
    output: str = ""

    def failed(self) -> set[str]:
        return {check for check, result in self.outcomes.items() if result.outcome == "failed"}

    def passed(self) -> set[str]:
        return {check for check, result in self.outcomes.items() if result.outcome == "passed"}

    def to_json(self) -> dict[str, Any]:
        return {
            "infra_error": self.infra_error,
            "seconds": round(self.seconds, 3),
            "outcomes": {
                check: {"outcome": r.outcome, "detail": r.detail[-1500:]} for check, r in sorted(self.outcomes.items())
            },
        }


def _stage(task: Task, files: Path, workdir: Path) -> Path:
    copy_tree(files, workdir)
    for name in (CHECK_DIR, ".claude", ".agents", ".mcp.json", "conftest.py"):
        target = workdir / name
        if target.is_dir():
            shutil.rmtree(target)
        elif target.exists():
            target.unlink()
    checks = workdir / CHECK_DIR
    (checks / "hidden").mkdir(parents=True)
    copy_tree(task.hidden_tests, checks / "hidden")
    if (task.starter / "tests").is_dir():
        copy_tree(task.starter / "tests", checks / "starter")
    for helper in ("pf_eval.py", "pf_eval_plugin.py"):
        shutil.copy2(support_dir() / helper, checks / helper)
    has_timeout = importlib.util.find_spec("pytest_timeout") is not None
    ini = _PYTEST_INI.format(
        timeout_plugin=" -p pytest_timeout" if has_timeout else "", timeout_line="timeout = 60\n" if has_timeout else ""
    )
    (checks / "pytest.ini").write_text(ini, encoding="utf-8")
    (checks / "conftest.py").write_text(_CONFTEST, encoding="utf-8")
    return checks


def _check_id(nodeid: str) -> str | None:
    """``hidden/test_requested.py::test_x`` -> ``requested:test_x``; ``starter/a/test_b.py::test_c`` likewise."""
    path, _, name = nodeid.partition("::")
    name = name.split("[", 1)[0]
    if path.startswith("hidden/"):
        kind = "requested" if Path(path).name.startswith("test_requested") else "unrequested"
        return f"{kind}:{name}"
    if path.startswith("starter/"):
        return f"starter:{path.removeprefix('starter/')}::{name}"
    return None


def _module_is_local(module: str, workdir: Path) -> bool:
    top = module.split(".", maxsplit=1)[0]
    return (workdir / top).is_dir() or (workdir / f"{top}.py").is_file() or top == "pf_eval"


def run_checks(task: Task, files: Path, *, timeout: float | None = None, python: str | None = None) -> CheckRun:
    """Run every behavioural check of ``task`` against the tree at ``files``."""
    expected = [check for check in task.checks() if not check.startswith("rule:")]
    run = CheckRun()
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix=f"pf-eval-{task.id}-") as temp:
        workdir = Path(temp) / "work"
        workdir.mkdir()
        checks = _stage(task, files, workdir)
        results_path = Path(temp) / "results.json"
        env = {
            key: value for key, value in os.environ.items()
            if not key.startswith(("PYTEST_", "PF_EVAL_")) and key not in ("PYTHONPATH", "COV_CORE_SOURCE")
        }
        env.update(task.env)
        env.update({
            "PF_EVAL_APP": task.app,
            "PF_EVAL_RESULTS": str(results_path),
            "PYTHONPATH": str(checks),
            "PYTHONDONTWRITEBYTECODE": "1",
            "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",
            "HOME": temp,
        })
        command = [
            python or sys.executable, "-m", "pytest", "-c", str(checks / "pytest.ini"), "--rootdir", str(checks),
            "--confcutdir", str(checks), "--import-mode=importlib", "--continue-on-collection-errors", "-q",
            "-p", "no:randomly", str(checks),
        ]
        try:
            completed = subprocess.run(
                command, cwd=workdir, env=env, capture_output=True, text=True, timeout=timeout or task.hidden_timeout,
                check=False,
            )
        except subprocess.TimeoutExpired:
            run.infra_error = f"hidden tests did not finish within {timeout or task.hidden_timeout:.0f} s"
            run.seconds = time.monotonic() - started
            return run
        run.seconds = time.monotonic() - started
        run.output = (completed.stdout + completed.stderr)[-20000:]
        if not results_path.is_file():
            run.infra_error = f"pytest exited with {completed.returncode} before writing results: {run.output[-800:]}"
            return run
        payload = json.loads(results_path.read_text(encoding="utf-8"))
    for nodeid, error in payload["collection_errors"].items():
        missing = _MISSING_MODULE.search(error)
        if missing and not _module_is_local(missing.group(1), workdir):
            run.infra_error = f"missing dependency {missing.group(1)!r} while collecting {nodeid}"
            return run
    for nodeid, data in payload["outcomes"].items():
        check = _check_id(nodeid)
        if check is None:
            continue
        outcome: Outcome = data["outcome"]
        previous = run.outcomes.get(check)
        if previous is None or previous.outcome != "failed":
            run.outcomes[check] = CheckOutcome(check, outcome, data.get("detail", ""))
    for check in expected:
        if check not in run.outcomes:
            errors = "\n".join(payload["collection_errors"].values())
            run.outcomes[check] = CheckOutcome(check, "failed", f"not run (collection error):\n{errors[-1500:]}")
    return run

