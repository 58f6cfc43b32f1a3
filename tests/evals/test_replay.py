"""The whole pipeline offline: replay recorded trials, grade them afresh in pristine copies, report."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from production_fastapi.evals.paths import evals_root

REFERENCE = evals_root() / "runs" / "reference"


def test_replaying_a_recorded_task_regrades_to_the_same_verdicts(tmp_path: Path) -> None:
    out = tmp_path / "replay"
    completed = subprocess.run(
        [sys.executable, "-m", "production_fastapi", "eval", "run", "--agent", "replay", "--from", str(REFERENCE),
         "--task", "spa-cors", "--arm", "baseline", "--arm", "skill", "--trials", "1", "--out", str(out)],
        capture_output=True, text=True, check=False, timeout=280,
    )
    assert completed.returncode == 0, completed.stderr
    assert "spa-cors [skill #1]:" in completed.stdout
    for recorded in sorted(REFERENCE.glob("spa-cors/*/1/result.json")):
        replayed = out / recorded.relative_to(REFERENCE)
        before, after = json.loads(recorded.read_text()), json.loads(replayed.read_text())
        # Behaviour must replay exactly; rule verdicts follow the reviewer installed now, so only their set is fixed.
        behaviour = {check: outcome for check, outcome in after["checks"].items() if not check.startswith("rule:")}
        assert behaviour == {c: o for c, o in before["checks"].items() if not c.startswith("rule:")}, recorded
        assert {c for c in after["checks"] if c.startswith("rule:")} == {
            c for c in before["checks"] if c.startswith("rule:")
        }
        assert after["agent"] == "replay"
        assert after["model"] == before["model"]
    report = json.loads((out / "report.json").read_text())
    assert report["uplift"]["skill"]["mean"] > 0


def test_replay_without_a_source_is_a_usage_error(tmp_path: Path) -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "production_fastapi", "eval", "run", "--agent", "replay", "--out", str(tmp_path)],
        capture_output=True, text=True, check=False,
    )
    assert completed.returncode == 2
    assert "needs --from RUN" in completed.stderr


@pytest.mark.slow
# As long as the replay may take (its subprocess timeout), not the suite's default 300 s.
@pytest.mark.timeout(1800)
def test_replaying_the_whole_reference_run_reproduces_its_report(tmp_path: Path) -> None:
    out = tmp_path / "replay"
    completed = subprocess.run(
        [sys.executable, "-m", "production_fastapi", "eval", "run", "--agent", "replay", "--from", str(REFERENCE),
         "--trials", "2", "--out", str(out)],
        capture_output=True, text=True, check=False, timeout=1800,
    )
    assert completed.returncode == 0, completed.stderr
    replayed = json.loads((out / "report.json").read_text())
    recorded = json.loads((REFERENCE / "report.json").read_text())
    for arm in ("baseline", "skill"):
        for key in ("requested_all", "unrequested_all", "unrequested_score", "infra_errors"):
            assert replayed["overall"][arm][key] == recorded["overall"][arm][key], (arm, key)
