"""``eval validate``: prove every task can tell good from bad before any agent is measured.

For each task: the oracle passes every check (behavioural and static), the untouched starter fails each
must-newly-pass check and passes its own tests, and each bad variant fails exactly the checks its
``variant.toml`` declares (no more, no fewer). Trees run in parallel subprocesses.
"""

from __future__ import annotations

import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from production_fastapi import bundle
from production_fastapi.evals.checks import run_checks
from production_fastapi.evals.static import grade_rules
from production_fastapi.evals.tasks import Task, materialize

__all__ = ["Problem", "TreeResult", "validate_tasks"]


@dataclass(frozen=True, slots=True)
class Problem:
    task: str
    variant: str
    message: str

    def __str__(self) -> str:
        return f"{self.task} [{self.variant}]: {self.message}"


@dataclass(slots=True)
class TreeResult:
    task: Task
    variant: str
    failed: set[str] = field(default_factory=set)
    passed: set[str] = field(default_factory=set)
    skipped: set[str] = field(default_factory=set)
    infra_error: str | None = None
    static_error: str | None = None
    seconds: float = 0.0
    details: dict[str, str] = field(default_factory=dict)


def grade_tree(task: Task, variant: str) -> TreeResult:
    with tempfile.TemporaryDirectory(prefix=f"pf-validate-{task.id}-") as temp:
        tree = materialize(task, variant, Path(temp) / "tree")
        run = run_checks(task, tree)
        static = grade_rules(tree, task.rules)
    result = TreeResult(task=task, variant=variant, infra_error=run.infra_error, seconds=run.seconds)
    for check, outcome in run.outcomes.items():
        {"passed": result.passed, "failed": result.failed, "skipped": result.skipped}[outcome.outcome].add(check)
        if outcome.outcome == "failed":
            result.details[check] = outcome.detail
    result.failed |= static.failed()
    result.passed |= static.passed()
    result.static_error = static.error
    for message in static.messages:
        code = message.split(": ", 1)[1].split(" ", 1)[0]
        result.details.setdefault(f"rule:{code}", message)
    return result


def _problems(result: TreeResult) -> list[Problem]:
    task, variant = result.task, result.variant

    def problem(message: str) -> Problem:
        return Problem(task.id, variant, message)

    if result.infra_error:
        return [problem(f"infrastructure error: {result.infra_error}")]
    problems: list[Problem] = []
    graded = result.failed | result.passed
    if variant == "oracle":
        problems += [
            problem(f"oracle fails {check}: {result.details.get(check, '')[-300:]}") for check in sorted(result.failed)
        ]
    elif variant == "starter":
        starter_failures = sorted(c for c in result.failed if c.startswith("starter:"))
        problems += [problem(f"starter fails its own test {check}") for check in starter_failures]
        problems += [
            problem(f"starter already passes {check}: list it in still_pass or make the check discriminate")
            for check in task.must_newly_pass() if check in result.passed
        ]
        problems += [
            problem(f"starter fails {check}, which still_pass says it passes")
            for check in task.still_pass if check in result.failed
        ]
    else:
        declared = set(task.variant(variant.removeprefix("bad/")).fails)
        for check in sorted(declared - result.failed):
            if check in graded:
                problems.append(problem(f"declared to fail {check} but passes it"))
        for check in sorted(result.failed - declared):
            problems.append(problem(f"fails undeclared {check}: {result.details.get(check, '')[-300:]}"))
    return problems


def validate_tasks(tasks: list[Task], *, jobs: int = 2) -> tuple[list[TreeResult], list[Problem]]:
    """Grade every tree of every task; returns the results and every problem found."""
    trees = [
        (task, variant)
        for task in tasks
        for variant in ("oracle", "starter", *(f"bad/{bad.name}" for bad in task.bad))
    ]
    if any(task.oracle_templates for task in tasks):
        # materialize() looks templates up through bundle.list_templates(), which ast-parses every header once and
        # caches them. Parsing from several threads at once trips a CPython 3.11 race ("AST constructor recursion
        # depth mismatch"), so fill the cache here, before the pool starts.
        bundle.list_templates()
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        results = list(pool.map(lambda pair: grade_tree(*pair), trees))
    problems = [problem for result in results for problem in _problems(result)]
    for task in tasks:
        if len(task.bad) < 2:
            problems.append(Problem(task.id, "bad", f"needs at least two bad variants, has {len(task.bad)}"))
    return results, problems
