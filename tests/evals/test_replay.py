"""The whole pipeline offline: record trials leanly, replay them (the tree rebuilt from the starter plus the recorded
changes), grade them afresh in pristine copies, report."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from pf_evals_helpers import ORACLE_MAIN

from production_fastapi import bundle
from production_fastapi.evals.agents import ReplayAgent
from production_fastapi.evals.arms import prepare_workspace
from production_fastapi.evals.record import BLOBS, duplicate_files, rebuild_tree
from production_fastapi.evals.tasks import Task, load_task


def test_replaying_a_recorded_task_regrades_to_the_same_verdicts(reference_run: Path, tmp_path: Path) -> None:
    out = tmp_path / "replay"
    completed = subprocess.run(
        [sys.executable, "-m", "production_fastapi", "eval", "run", "--agent", "replay", "--from", str(reference_run),
         "--task", "spa-cors", "--arm", "baseline", "--arm", "skill", "--trials", "1", "--out", str(out)],
        capture_output=True, text=True, check=False, timeout=280,
    )
    assert completed.returncode == 0, completed.stderr
    assert "spa-cors [skill #1]:" in completed.stdout
    for recorded in sorted(reference_run.glob("spa-cors/*/1/result.json")):
        replayed = out / recorded.relative_to(reference_run)
        before, after = json.loads(recorded.read_text()), json.loads(replayed.read_text())
        assert before["checks"] == after["checks"], recorded
        assert after["agent"] == "replay"
        assert after["model"] == before["model"]
        # The replay stores the same changes again, leanly.
        old, new = (json.loads((p.parent / "changes.json").read_text()) for p in (recorded, replayed))
        assert old == new
    report = json.loads((out / "report.json").read_text())
    assert report["uplift"]["skill"]["mean"] > 0


def test_a_record_holds_only_changes_and_never_a_template_copy(reference_run: Path) -> None:
    templates = {t.path.read_bytes() for t in bundle.list_templates()}
    stored = [p for p in reference_run.rglob("*") if p.is_file()]
    assert not [p for p in stored if p.read_bytes() in templates]
    assert duplicate_files(reference_run) == []
    # launch-ready's oracle adopts ten templates: each is a reference with the template's hash.
    changes = json.loads((reference_run / "launch-ready/skill/1/changes.json").read_text())
    referenced = {entry["template"] for entry in changes["files"].values() if "template" in entry}
    assert {"settings.py", "middleware.py", "main.py", "lifespan.py"} <= referenced
    # Files the starter already had unchanged are not listed at all.
    assert "tests/test_bookings.py" not in changes["files"]
    assert {p.name for p in (reference_run / "launch-ready/skill/1").iterdir()} == {"changes.json", "result.json"}


def test_a_rebuilt_tree_is_the_tree_that_was_recorded(reference_run: Path, tmp_path: Path) -> None:
    from production_fastapi.evals.paths import tasks_root
    from production_fastapi.evals.tasks import materialize

    task = load_task(tasks_root() / "launch-ready")
    rebuilt = tmp_path / "rebuilt"
    rebuild_tree(task.starter, reference_run, reference_run / "launch-ready/baseline/1", rebuilt)
    expected = materialize(task, f"bad/{task.bad[0].name}", tmp_path / "expected")

    def files(root: Path) -> dict[str, bytes]:
        return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}

    assert files(rebuilt) == files(expected)


def test_a_changed_starter_or_template_is_refused_with_the_reason(tiny_task: Task, tmp_path: Path) -> None:
    from production_fastapi.evals.record import RecordError, record_changes

    tree = tmp_path / "tree"
    shutil.copytree(tiny_task.starter, tree)
    original = (tiny_task.starter / "app/main.py").read_bytes()
    (tree / "app/main.py").write_text(ORACLE_MAIN)
    (tree / "tests/test_ping.py").unlink()
    run = tmp_path / "run"
    changes = record_changes(tiny_task.starter, tree, run, "tiny-task/skill/1")
    assert changes["deleted"] == ["tests/test_ping.py"]
    assert list(changes["files"]) == ["app/main.py"]
    rebuild_tree(tiny_task.starter, run, run / "tiny-task/skill/1", tmp_path / "ok")
    assert (tmp_path / "ok/app/main.py").read_text() == ORACLE_MAIN
    assert not (tmp_path / "ok/tests/test_ping.py").exists()

    (tiny_task.starter / "app/main.py").write_text("# edited later\n")
    with pytest.raises(RecordError, match="the task's starter has changed since this trial was recorded"):
        rebuild_tree(tiny_task.starter, run, run / "tiny-task/skill/1", tmp_path / "stale")
    # Replay turns it into an infrastructure error of that trial, not failed checks.
    agent_run = ReplayAgent(run).run(tiny_task, prepare_workspace(tiny_task, "skill", tmp_path / "ws"), 1)
    assert agent_run.error is not None
    assert "starter has changed" in agent_run.error

    # With the starter back, a missing blob is named.
    (tiny_task.starter / "app/main.py").write_bytes(original)
    shutil.rmtree(run / BLOBS)
    with pytest.raises(RecordError, match=r"app/main.py needs blob [0-9a-f]{64}, which .*blobs does not hold"):
        rebuild_tree(tiny_task.starter, run, run / "tiny-task/skill/1", tmp_path / "no-blob")


def test_runs_recorded_before_lean_records_still_replay(tiny_task: Task, tmp_path: Path) -> None:
    old = tmp_path / "old/tiny-task/skill/1"
    shutil.copytree(tiny_task.starter, old / "files")
    (old / "files/app/main.py").write_text(ORACLE_MAIN)
    (old / "meta.json").write_text(json.dumps({"model": "m", "seconds_agent": 12.5}))
    workspace = prepare_workspace(tiny_task, "skill", tmp_path / "ws")
    agent_run = ReplayAgent(tmp_path / "old").run(tiny_task, workspace, 1)
    assert agent_run.error is None
    assert (agent_run.model, agent_run.seconds) == ("m", 12.5)
    assert (workspace.repo / "app/main.py").read_text() == ORACLE_MAIN


@pytest.mark.slow
@pytest.mark.timeout(3600)  # 80 gradings: far beyond the suite's 300 s per test
def test_replaying_the_whole_reference_run_reproduces_its_report(tmp_path: Path) -> None:
    from production_fastapi.evals.paths import tasks_root
    from production_fastapi.evals.reference import record_reference
    from production_fastapi.evals.report import build_report
    from production_fastapi.evals.tasks import load_tasks

    reference = tmp_path / "reference"
    record_reference(load_tasks(tasks_root()), reference, trials=2)
    assert duplicate_files(reference) == []
    out = tmp_path / "replay"
    completed = subprocess.run(
        [sys.executable, "-m", "production_fastapi", "eval", "run", "--agent", "replay", "--from", str(reference),
         "--trials", "2", "--out", str(out)],
        capture_output=True, text=True, check=False, timeout=1800,
    )
    assert completed.returncode == 0, completed.stderr
    replayed, recorded = build_report(out), build_report(reference)
    for arm in ("baseline", "skill"):
        for key in ("requested_all", "unrequested_all", "unrequested_score", "infra_errors"):
            assert replayed["overall"][arm][key] == recorded["overall"][arm][key], (arm, key)


def test_replay_without_a_source_is_a_usage_error(tmp_path: Path) -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "production_fastapi", "eval", "run", "--agent", "replay", "--out", str(tmp_path)],
        capture_output=True, text=True, check=False,
    )
    assert completed.returncode == 2
    assert "needs --from RUN" in completed.stderr
