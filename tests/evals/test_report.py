"""The report: the synthetic reference (recorded at test time) says what it must say, and the skill-induced
regression table lists exactly the checks a skill arm fails that the baseline passes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from production_fastapi.evals.report import build_report, render_markdown


def test_reference_report_says_oracle_beats_bad_variants_on_unrequested_checks_only(reference_run: Path) -> None:
    report = build_report(reference_run)
    assert report["tasks"] == ["launch-ready", "spa-cors"]
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
    assert uplift["pairs"] == 2
    assert 0 < uplift["bootstrap95"][0] <= uplift["mean"] <= uplift["bootstrap95"][1]
    assert report["per_task"]["spa-cors"]["skill"]["uplift"]["pairs"] == 1
    assert "uplift" not in report["per_task"]["spa-cors"]["baseline"]
    assert report["rule_adherence"]
    # The oracle breaks nothing the bad variants get right.
    assert report["skill_induced_regressions"] == []
    markdown = render_markdown(report)
    assert "Synthetic reference run" in markdown
    assert "None: no skill arm fails a check more often than the baseline." in markdown


def test_report_command_writes_both_files(reference_run: Path, tmp_path: Path) -> None:
    json_path, md_path = tmp_path / "r.json", tmp_path / "r.md"
    completed = subprocess.run(
        [sys.executable, "-m", "production_fastapi", "eval", "report", str(reference_run), "--json", str(json_path),
         "--markdown", str(md_path)],
        capture_output=True, text=True, check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert json.loads(json_path.read_text()) == json.loads(json.dumps(build_report(reference_run)))
    assert md_path.read_text().startswith("# Eval report: reference")


def _result(run: Path, task: str, arm: str, trial: int, checks: dict[str, str], **extra: Any) -> None:
    usage = {"skill_used": False, "templates_read": False, "mcp_tools": [], "tool_calls": 0,
             "input_tokens": None, "output_tokens": None, "cost_usd": None, "turns": None}
    record = {"task": task, "arm": arm, "trial": trial, "checks": checks, "usage": usage, "infra_error": None,
              "seconds_agent": None, **extra}
    path = run / task / arm / str(trial) / "result.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(record))


def test_regression_table_lists_checks_the_skill_breaks(tmp_path: Path) -> None:
    ok, bad = "passed", "failed"
    for trial, (base_tests, skill_tests, mcp_tests) in enumerate([(ok, bad, ok), (ok, ok, ok), (bad, bad, ok)], 1):
        _result(tmp_path, "t", "baseline", trial, {"starter:t.py::test_a": base_tests, "rule:PF101": bad,
                                                   "unrequested:test_u": bad})
        _result(tmp_path, "t", "skill", trial, {"starter:t.py::test_a": skill_tests, "rule:PF101": ok,
                                                "unrequested:test_u": ok}, tokens=1000 * trial)
        _result(tmp_path, "t", "skill+mcp", trial, {"starter:t.py::test_a": mcp_tests, "rule:PF101": bad,
                                                    "unrequested:test_u": ok})
    report = build_report(tmp_path)
    # skill fails the starter test in 2 of 3 trials where the baseline passes it in 2 of 3: only trial 1 is a pair.
    assert report["skill_induced_regressions"] == [{
        "task": "t", "check": "starter:t.py::test_a", "arm": "skill", "baseline_passed": 2, "baseline_trials": 3,
        "skill_failed": 2, "skill_trials": 3, "paired": 1,
    }]
    # An arm that fails a check as often as the baseline (PF101 in skill+mcp) is no regression.
    assert report["per_task"]["t"]["skill"]["unrequested_all"]["passed"] == 3
    assert report["per_task"]["t"]["skill"]["uplift"]["mean"] == 1.0
    assert report["usage"]["skill"]["mean_total_tokens"] == 2000
    assert report["rule_adherence"]["PF101"] == {
        "baseline": {"passed": 0, "graded": 3}, "skill": {"passed": 3, "graded": 3},
        "skill+mcp": {"passed": 0, "graded": 3},
    }
    markdown = render_markdown(report)
    assert "| t | starter:t.py::test_a | skill | 2/3 | 2/3 | 1 |" in markdown
    assert "| t | skill | 1/3 (6%-79%) | 3/3 (44%-100%) | 1.0 | +1.00 (+1.00 to +1.00, n=3) |" in markdown


def test_report_of_an_empty_folder_is_a_clear_error(tmp_path: Path) -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "production_fastapi", "eval", "report", str(tmp_path)],
        capture_output=True, text=True, check=False,
    )
    assert completed.returncode == 2
    assert completed.stderr.strip() == f"production-fastapi eval: {tmp_path} holds no graded trials (*/*/*/result.json)"
