"""The fix loop: apply the enabled fixes (safe ones; unsafe ones too with ``--unsafe-fixes``), re-check, repeat until
nothing fixable is left or nothing changes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from production_fastapi.review.engine import check_python
from production_fastapi.review.findings import Finding
from production_fastapi.review.targets import Targets
from production_fastapi.rules.base import Rule

__all__ = ["MAX_ROUNDS", "FixResult", "fix_loop"]

#: Fixes may enable each other (one rewrite exposes another); a few rounds reach the fixed point in practice, and
#: the cap guarantees termination even if two fixes were ever to undo each other.
MAX_ROUNDS = 10


@dataclass(slots=True)
class FixResult:
    source: str
    remaining: list[Finding]
    fixed: int = 0
    errors: list[str] = field(default_factory=list)


def fix_loop(
    path: str,
    source: str,
    rules: Sequence[Rule],
    module: str | None = None,
    *,
    targets: Targets = (),
    unsafe_fixes: bool = False,
) -> FixResult:
    """Fix ``source`` to a fixed point. A fix that breaks the code is dropped and reported, never written."""
    from production_fastapi.rules.fixes import FixError, apply_rule_fixes

    by_code = {rule.code: rule for rule in rules}
    outcome, _ = check_python(path, source, rules, module, targets=targets)
    initial = len(outcome.findings)
    errors = list(outcome.internal_errors)
    for _ in range(MAX_ROUNDS):
        fixable: dict[str, list[Finding]] = {}
        for finding in outcome.findings:
            if finding.fix_applies(unsafe_fixes) and finding.code in by_code:
                fixable.setdefault(finding.code, []).append(finding)
        if not fixable:
            break
        try:
            updated = apply_rule_fixes(source, [(by_code[code], found) for code, found in sorted(fixable.items())])
        except FixError as exc:
            errors.append(f"{path}: {exc}")
            break
        if updated == source:
            break
        source = updated
        outcome, _ = check_python(path, source, rules, module, targets=targets)
        errors.extend(outcome.internal_errors)
    return FixResult(source, outcome.findings, max(initial - len(outcome.findings), 0), errors)
