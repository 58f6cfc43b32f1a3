"""The recorded reference run (oracle and bad variants) reported offline: the stored report is reproducible and says
what the reference run must say."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from production_fastapi.evals.paths import evals_root, tasks_root
from production_fastapi.evals.report import build_report, render_markdown
from production_fastapi.evals.tasks import load_tasks

REFERENCE = evals_root() / "runs" / "reference"


def test_reference_run_covers_every_task_and_arm() -> None:
    tasks = {task.id for task in load_tasks(tasks_root())}
    recorded = {path.parent.parent.parent.name for path in REFERENCE.glob("*/*/*/result.json")}
    assert recorded == tasks
    assert len(list(REFERENCE.glob("*/*/*/result.json"))) == len(tasks) * 2 * 2


def test_stored_report_is_reproduced_from_the_recorded_results() -> None:
    report = build_report(REFERENCE)
    assert json.loads((REFERENCE / "report.json").read_text()) == json.loads(json.dumps(report))
    assert (REFERENCE / "report.md").read_text() == render_markdown(report)


def test_reference_report_says_oracle_beats_bad_variants_on_unrequested_checks_only() -> None:
    report = build_report(REFERENCE)
    baseline, skill = report["overall"]["baseline"], report["overall"]["skill"]
    assert baseline["infra_errors"] == skill["infra_errors"] == 0
    # Bad variants break what nobody asked for, not what was asked: requested checks pass in both arms.
    assert skill["requested_all"]["rate"] == 1.0
    assert skill["unrequested_all"]["rate"] == 1.0
    assert skill["static_adherence"] == 1.0
    assert baseline["unrequested_all"]["passed"] < baseline["unrequested_all"]["trials"]
    low, high = skill["unrequested_all"]["wilson95"]
    assert low < 1.0 == high
    uplift = report["uplift"]["skill"]
    assert uplift["pairs"] == len(report["tasks"]) * 2
    assert 0 < uplift["bootstrap95"][0] <= uplift["mean"] <= uplift["bootstrap95"][1]
    assert report["rule_adherence"]
    assert "Synthetic reference run" in render_markdown(report)


def test_report_command_writes_both_files(tmp_path: Path) -> None:
    json_path, md_path = tmp_path / "r.json", tmp_path / "r.md"
    completed = subprocess.run(
        [sys.executable, "-m", "production_fastapi", "eval", "report", str(REFERENCE), "--json", str(json_path),
         "--markdown", str(md_path)],
        capture_output=True, text=True, check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert json.loads(json_path.read_text())["tasks"]
    assert md_path.read_text().startswith("# Eval report: reference")


def test_report_of_an_empty_folder_is_a_clear_error(tmp_path: Path) -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "production_fastapi", "eval", "report", str(tmp_path)],
        capture_output=True, text=True, check=False,
    )
    assert completed.returncode == 2
    assert completed.stderr.strip() == f"production-fastapi eval: {tmp_path} holds no graded trials (*/*/*/result.json)"
