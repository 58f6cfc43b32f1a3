"""The reference run: the tasks' own known-good and known-bad trees recorded as if two agents had produced them.

Arm ``baseline`` trial *i* is the task's *i*-th bad variant; arm ``skill`` is the oracle in every trial. It measures
no agent, so it is not stored: the tests record it into a temporary folder to push the whole pipeline (lean
recording, replay, pristine grading, static grading, report) through real files offline, and it shows what the
report looks like when one arm gets the unrequested qualities right and the other not.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from production_fastapi.evals.agents import AgentRun
from production_fastapi.evals.arms import Workspace
from production_fastapi.evals.runner import run_eval
from production_fastapi.evals.tasks import Task, materialize

__all__ = ["NOTE", "ReferenceAgent", "record_reference"]

NOTE = (
    "Synthetic reference run: baseline trials are each task's known-bad variants, skill trials its oracle. "
    "It exercises the pipeline and measures no agent."
)


class ReferenceAgent:
    name = "reference"

    def unavailable(self) -> str | None:
        return None

    def run(self, task: Task, workspace: Workspace, trial: int) -> AgentRun:
        variant = "oracle" if workspace.arm != "baseline" else f"bad/{task.bad[(trial - 1) % len(task.bad)].name}"
        shutil.rmtree(workspace.repo)
        materialize(task, variant, workspace.repo)
        return AgentRun(model=variant)


def record_reference(tasks: list[Task], out: Path, *, trials: int = 2) -> int:
    if out.exists():
        shutil.rmtree(out)
    records = run_eval(tasks, ReferenceAgent(), ["baseline", "skill"], trials, out, note=NOTE)
    return len(records)
