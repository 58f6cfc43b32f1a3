"""pytest plugin loaded into every hidden-test run: writes each check's outcome as JSON for the harness.

The harness reads this file instead of parsing pytest's console, so a check's fate (passed, failed, skipped, error)
never depends on output formatting. Collection errors are recorded per file with their text, because a file that
cannot be imported is either the agent's broken code or a missing dependency, and the harness tells them apart.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

_outcomes: dict[str, dict[str, str]] = {}
_collection_errors: dict[str, str] = {}


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    current = _outcomes.get(report.nodeid)
    if report.when == "call" or report.failed or (report.skipped and current is None):
        if current is not None and current["outcome"] == "failed":
            return  # a teardown after a failed call must not hide the failure
        outcome = "failed" if report.failed else ("skipped" if report.skipped else "passed")
        detail = ""
        if report.failed:
            detail = str(report.longrepr)[-3000:]
        elif report.skipped and isinstance(report.longrepr, tuple):
            detail = str(report.longrepr[2])
        _outcomes[report.nodeid] = {"outcome": outcome, "when": report.when, "detail": detail}


def pytest_collectreport(report: pytest.CollectReport) -> None:
    if report.failed:
        _collection_errors[report.nodeid] = str(report.longrepr)[-3000:]


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    target = os.environ.get("PF_EVAL_RESULTS")
    if not target:
        return
    payload: dict[str, Any] = {
        "exitstatus": int(exitstatus),
        "outcomes": _outcomes,
        "collection_errors": _collection_errors,
    }
    Path(target).write_text(json.dumps(payload, indent=1), encoding="utf-8")
