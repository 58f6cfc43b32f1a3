"""``eval validate`` on every shipped task (the CI gate), and on a tiny task whose declarations are wrong."""

from __future__ import annotations

import os

import pytest
from pf_evals_helpers import write

from production_fastapi.evals.paths import tasks_root
from production_fastapi.evals.static import reviewer_available
from production_fastapi.evals.tasks import Task, load_task, load_tasks
from production_fastapi.evals.validate import validate_tasks


# Grades four trees or more per shipped task, each through real test runs: minutes on a busy machine, not seconds.
@pytest.mark.timeout(900)
def test_every_shipped_task_discriminates() -> None:
    tasks = load_tasks(tasks_root())
    results, problems = validate_tasks(tasks, jobs=int(os.environ.get("PF_EVAL_JOBS", "4")))
    assert not problems, "\n".join(str(problem) for problem in problems)
    assert len(results) == sum(2 + len(task.bad) for task in tasks)
    assert all(result.infra_error is None for result in results)
    # The static grader really ran (a reviewer crash or absence would silently grade nothing).
    assert reviewer_available() is None
    assert all(result.static_error is None for result in results)
    graded_rules = {check for result in results for check in result.failed | result.passed if check.startswith("rule:")}
    assert len(graded_rules) >= 10


def test_validate_reports_wrong_declarations(tiny_task: Task) -> None:
    write(tiny_task.path / "bad/no-header/variant.toml", 'description = "x"\nfails = ["requested:test_pong"]\n')
    task = load_task(tiny_task.path)
    results, problems = validate_tasks([task], jobs=4)
    messages = [str(problem) for problem in problems]
    assert any("[bad/no-header]: declared to fail requested:test_pong but passes it" in m for m in messages), messages
    assert any("[bad/no-header]: fails undeclared unrequested:test_served_by_header" in m for m in messages), messages
    oracle = next(r for r in results if r.variant == "oracle")
    assert oracle.failed == set()
    starter = next(r for r in results if r.variant == "starter")
    assert starter.failed == {"requested:test_pong", "unrequested:test_served_by_header"}
    assert "starter:test_ping.py::test_ping" in starter.passed
