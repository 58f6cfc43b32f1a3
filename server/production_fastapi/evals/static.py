"""The static grader: the reviewer's rules listed for a task, run over the agent's files.

A rule check ``rule:PF102`` passes when the reviewer reports no PF102 finding in the files the agent delivered
(tests excluded: a test may build a bad client on purpose). When the reviewer is not installed the static grader
says so once and grades nothing, instead of passing every rule.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from production_fastapi.evals.tasks import IGNORED_NAMES

__all__ = ["StaticGrade", "grade_rules", "reviewer_available"]

_SKIPPED_DIRS = IGNORED_NAMES | {"tests", "_eval_checks", ".claude", ".agents"}


@dataclass(slots=True)
class StaticGrade:
    # rule code -> number of findings (0 = the rule check passes)
    findings: dict[str, int] = field(default_factory=dict)
    messages: list[str] = field(default_factory=list)
    error: str | None = None
    # listed rules the installed reviewer does not know (yet): not graded, reported
    unavailable: list[str] = field(default_factory=list)

    def failed(self) -> set[str]:
        return {f"rule:{code}" for code, count in self.findings.items() if count}

    def passed(self) -> set[str]:
        return {f"rule:{code}" for code, count in self.findings.items() if not count}

    def to_json(self) -> dict[str, Any]:
        return {
            "findings": dict(sorted(self.findings.items())),
            "messages": self.messages[:50],
            "error": self.error,
            "unavailable": self.unavailable,
        }


def reviewer_available() -> str | None:
    """None when the reviewer can be imported, else why not."""
    try:
        from production_fastapi.review import review_paths  # noqa: F401
    except ImportError as exc:
        return f"the reviewer is not importable ({exc})"
    return None


def _files(root: Path) -> list[Path]:
    return sorted(
        path for path in root.rglob("*")
        if path.is_file() and not any(part in _SKIPPED_DIRS for part in path.relative_to(root).parts[:-1])
        and not path.name.startswith("test_") and path.name != "conftest.py"
    )


def grade_rules(files: Path, rules: tuple[str, ...]) -> StaticGrade:
    grade = StaticGrade()
    if not rules:
        return grade
    missing = reviewer_available()
    if missing is not None:
        grade.error = missing
        return grade
    from production_fastapi.review import review_paths
    from production_fastapi.rules import all_rules

    known = {rule.code for rule in all_rules()}
    grade.unavailable = [code for code in rules if code not in known]
    rules = tuple(code for code in rules if code in known)
    try:
        # The task names the rules it grades: opt-in ones among them run too (issue #12: not in the default set).
        report = review_paths(_files(files), extend_select=rules)
    except Exception as exc:  # a reviewer crash is the harness's problem, never a verdict on the agent
        grade.error = f"the reviewer failed: {type(exc).__name__}: {exc}"
        return grade
    grade.findings = dict.fromkeys(rules, 0)
    for finding in report.findings:
        if finding.code in grade.findings:
            grade.findings[finding.code] += 1
            where = Path(finding.path)
            shown = where.relative_to(files) if where.is_absolute() and where.is_relative_to(files) else where
            grade.messages.append(f"{shown}:{finding.line}:{finding.column}: {finding.code} {finding.message}")
    return grade
