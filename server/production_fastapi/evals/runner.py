"""Run agents on tasks in arms, grade each trial, and record everything under a run folder.

Layout of a run (the same whether it came from a live agent, a replay or ``eval record``, so any run can be replayed
and reported): ``<run>/run.json`` (agent, arms, trials, notes), ``<run>/blobs/`` (the new bytes of every trial,
each stored once) and ``<run>/<task>/<arm>/<trial>/`` holding ``changes.json`` (what the agent changed relative to
the starter, harness files removed: see :mod:`record`), ``transcript.jsonl`` (when there is one) and
``result.json`` (the grades and the agent's metadata). Trials are numbered from 1; trial *i* of two arms forms a
pair for the uplift.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from production_fastapi.evals.agents import Agent, AgentRun, recording_dir
from production_fastapi.evals.arms import ARMS, prepare_workspace, strip_agent_files
from production_fastapi.evals.checks import run_checks
from production_fastapi.evals.record import record_changes
from production_fastapi.evals.static import grade_rules
from production_fastapi.evals.tasks import Task
from production_fastapi.evals.transcripts import usage_from_events

__all__ = ["RESULT_FILE", "TrialSpec", "grade_trial", "run_eval", "write_run_meta", "write_trial"]

RESULT_FILE = "result.json"


@dataclass(frozen=True, slots=True)
class TrialSpec:
    task: Task
    arm: str
    trial: int


def check_kind(check: str) -> str:
    return check.split(":", 1)[0]


def grade_trial(
    task: Task, arm: str, trial: int, files: Path, agent_run: AgentRun, *, agent_name: str
) -> dict[str, Any]:
    """Grade the files an agent left; returns the ``result.json`` record."""
    record: dict[str, Any] = {
        "task": task.id,
        "area": task.area,
        "kind": task.kind,
        "arm": arm,
        "trial": trial,
        "agent": agent_name,
        "model": agent_run.model,
        "agent_error": agent_run.error,
        "timed_out": agent_run.timed_out,
        "seconds_agent": None if agent_run.seconds is None else round(agent_run.seconds, 2),
        "tokens": agent_run.tokens,
        "usage": usage_from_events(agent_run.events).to_json(),
        "infra_error": None,
        "checks": {},
        "static": {},
    }
    if agent_run.error:
        # Nothing the agent produced can be trusted as its answer: counted apart, never as failed checks.
        record["infra_error"] = f"agent: {agent_run.error}"
        return record
    checks = run_checks(task, files)
    static = grade_rules(files, task.rules)
    record["seconds_checks"] = round(checks.seconds, 2)
    if checks.infra_error:
        record["infra_error"] = f"checks: {checks.infra_error}"
        return record
    outcomes = {check: result.outcome for check, result in checks.outcomes.items()}
    for code, count in static.findings.items():
        outcomes[f"rule:{code}"] = "failed" if count else "passed"
    record["checks"] = dict(sorted(outcomes.items()))
    record["failures"] = {
        check: result.detail[-600:] for check, result in sorted(checks.outcomes.items()) if result.outcome == "failed"
    }
    record["static"] = static.to_json()
    return record


def write_trial(
    out: Path, task: Task, files: Path, agent_run: AgentRun, record: dict[str, Any], *,
    skip: frozenset[str] = frozenset(),
) -> Path:
    """Store one graded trial leanly: its changes against the starter, its transcript and its result."""
    arm, trial = record["arm"], int(record["trial"])
    target = recording_dir(out, task.id, arm, trial)
    if target.exists():
        shutil.rmtree(target)
    record_changes(task.starter, files, out, f"{task.id}/{arm}/{trial}", skip=skip)
    if agent_run.events:
        # An empty transcript is not written: it says nothing, and identical empty files would be stored twice.
        with (target / "transcript.jsonl").open("w", encoding="utf-8") as transcript:
            for event in agent_run.events:
                transcript.write(json.dumps(event) + "\n")
    (target / RESULT_FILE).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    return target


def write_run_meta(out: Path, meta: dict[str, Any]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "run.json").write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def run_eval(
    tasks: Iterable[Task],
    agent: Agent,
    arms: Iterable[str],
    trials: int,
    out: Path,
    *,
    note: str = "",
    progress: Callable[[str], None] | None = None,
) -> list[dict[str, Any]]:
    """Every (task, arm, trial) once; results are written as they finish, so an interrupted run keeps its trials."""
    arms = list(arms)
    unknown = [arm for arm in arms if arm not in ARMS]
    if unknown:
        raise ValueError(f"unknown arm {', '.join(unknown)}; choose from {', '.join(ARMS)}")
    tasks = list(tasks)
    write_run_meta(out, {
        "agent": agent.name,
        "arms": arms,
        "trials": trials,
        "tasks": [task.id for task in tasks],
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "note": note,
    })
    records: list[dict[str, Any]] = []
    for task in tasks:
        for arm in arms:
            for trial in range(1, trials + 1):
                with tempfile.TemporaryDirectory(prefix=f"pf-run-{task.id}-") as temp:
                    workspace = prepare_workspace(task, arm, Path(temp))
                    agent_run = agent.run(task, workspace, trial)
                    strip_agent_files(workspace.repo)
                    record = grade_trial(task, arm, trial, workspace.repo, agent_run, agent_name=agent.name)
                    write_trial(out, task, workspace.repo, agent_run, record)
                records.append(record)
                if progress is not None:
                    passed = sum(1 for outcome in record["checks"].values() if outcome == "passed")
                    status = record["infra_error"] or f"{passed}/{len(record['checks'])} checks passed"
                    progress(f"{task.id} [{arm} #{trial}]: {status}")
    return records
