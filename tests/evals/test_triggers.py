"""Trigger queries: their balance, and the runner's precision and recall with a scripted `claude -p` stand-in."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from production_fastapi.evals.paths import evals_root
from production_fastapi.evals.triggers import TriggerQuery, load_triggers, run_triggers, score

TRIGGERS = evals_root() / "triggers.json"


def test_trigger_queries_are_balanced_with_named_near_misses() -> None:
    queries = load_triggers(TRIGGERS)
    positives = [q for q in queries if q.should_trigger]
    negatives = [q for q in queries if not q.should_trigger]
    assert len(queries) >= 20
    assert len(positives) == len(negatives)
    near_misses = " ".join(q.query for q in negatives).lower()
    for framework in ("django", "flask", "litestar", "pydantic", "starlette"):
        assert framework in near_misses
    assert all("fastapi" in q.query.lower() or "uvicorn" in q.query.lower() for q in positives)


# Triggers the skill when the query mentions FastAPI: right on every positive, wrong on none of the negatives.
FAKE_CLI = '''
import json, sys
query = sys.argv[1]
if "fastapi" in query.lower() or "uvicorn" in query.lower():
    print(json.dumps({"type": "assistant", "message": {"content": [
        {"type": "tool_use", "name": "Skill", "input": {"skill": "production-fastapi"}}]}}))
print(json.dumps({"type": "result", "num_turns": 1}))
'''


def test_runner_scores_a_cli_agent(tmp_path: Path) -> None:
    script = tmp_path / "fake_cli.py"
    script.write_text(FAKE_CLI)
    queries = load_triggers(TRIGGERS)[:3] + load_triggers(TRIGGERS)[-3:]
    result = run_triggers(queries, f"{sys.executable} {script} {{prompt}}")
    assert result["errors"] == []
    assert result["score"]["precision"] == 1.0
    assert result["score"]["recall"] == 1.0
    assert [q["hits"] for q in result["queries"]] == [1, 1, 1, 0, 0, 0]


def test_score_counts_both_kinds_of_mistake() -> None:
    yes, no = TriggerQuery("fastapi probes", True), TriggerQuery("flask errors", False)
    result = score([(yes, True), (yes, False), (no, True), (no, False)])
    assert (result["precision"], result["recall"], result["accuracy"]) == (0.5, 0.5, 0.5)
    assert result["misses"] == ["fastapi probes", "flask errors"]


def test_runs_that_error_are_left_out_of_the_score(tmp_path: Path) -> None:
    result = run_triggers([TriggerQuery("fastapi probes", True)], "exit 4 # {prompt}")
    assert result["errors"] == ["exit 4: "]
    assert result["score"]["recall"] is None


@pytest.mark.parametrize(
    ("content", "message"),
    [("[]", "must hold"), ('{"queries": [{"query": "x"}]}', "should_trigger"), ("{", "not valid JSON")],
)
def test_bad_trigger_files_are_refused(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "t.json"
    path.write_text(content)
    with pytest.raises(ValueError, match=message):
        load_triggers(path)


def test_triggers_command_reports_precision_and_recall(tmp_path: Path) -> None:
    script = tmp_path / "fake_cli.py"
    script.write_text(FAKE_CLI)
    small = tmp_path / "triggers.json"
    small.write_text(json.dumps({"queries": [
        {"query": "Add probes to my FastAPI app", "should_trigger": True},
        {"query": "Flask 404 as JSON", "should_trigger": False},
    ]}))
    completed = subprocess.run(
        [sys.executable, "-m", "production_fastapi", "eval", "triggers", "--file", str(small),
         "--command", f"{sys.executable} {script} {{prompt}}"],
        capture_output=True, text=True, check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.splitlines()[0] == "precision 1.0 · recall 1.0 · accuracy 1.0"
