"""What a review produces: findings (one rule firing at one place) and the report of a whole run."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from production_fastapi.rules.base import SEVERITIES, Severity

__all__ = ["PARSE_ERROR_CODE", "Finding", "Report", "severity_at_least"]

#: Reserved for "this file could not be read or parsed" (syntax error, bad encoding, binary, too large).
PARSE_ERROR_CODE = "PF000"
PARSE_ERROR_NAME = "unparsable-file"


def severity_at_least(severity: Severity, threshold: Severity) -> bool:
    """``error`` >= ``warning`` >= ``info``."""
    return SEVERITIES.index(severity) <= SEVERITIES.index(threshold)


@dataclass(frozen=True, slots=True, order=True)
class Finding:
    """One rule firing at one place. Lines and columns are 1-based; columns count characters.

    ``fixable`` means a fix exists for this occurrence; ``fix_applicability`` says whether it is "safe" (applied by
    ``--fix``) or "unsafe" (applied only with ``--unsafe-fixes`` too); None when there is no fix.
    Sorting orders by path, then position, then code.
    """

    path: str
    line: int
    column: int
    code: str
    end_line: int = field(compare=False)
    end_column: int = field(compare=False)
    name: str = field(compare=False)
    severity: Severity = field(compare=False)
    message: str = field(compare=False)
    fixable: bool = field(default=False, compare=False)
    fix_title: str | None = field(default=None, compare=False)
    fix_applicability: str | None = field(default=None, compare=False)

    def fix_applies(self, unsafe_fixes: bool = False) -> bool:
        """Whether ``--fix`` changes this finding (with ``--unsafe-fixes`` when ``unsafe_fixes``)."""
        return self.fixable and (self.fix_applicability == "safe" or unsafe_fixes)

    def sort_key(self) -> tuple[str, int, int, str, int, int, str]:
        """A total order (ties on position and code broken by extent and message), so output is deterministic."""
        return (self.path, self.line, self.column, self.code, self.end_line, self.end_column, self.message)

    def fix_note(self) -> str:
        """The fix in words for messages: empty without one; unsafe ones say they need ``--unsafe-fixes``."""
        if not self.fixable:
            return ""
        title = f": {self.fix_title}" if self.fix_title else ""
        if self.fix_applicability == "safe":
            return f"safe fix{title}"
        return f"unsafe fix{title} (may change behaviour: needs `--unsafe-fixes` and a human's yes)"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Finding:
        return cls(**data)


@dataclass(slots=True)
class Report:
    """The result of reviewing paths: every finding, how many files were checked, and run-level errors.

    ``errors`` are problems with the run itself (a path that does not exist, an unreadable directory), not with
    code: each is one sentence. ``fixed`` counts findings removed by ``--fix``; ``changed`` lists the files it
    rewrote (or would rewrite, with ``--diff``), with their unified diffs in ``diffs``.
    """

    findings: list[Finding] = field(default_factory=list)
    files_checked: int = 0
    errors: list[str] = field(default_factory=list)
    fixed: int = 0
    changed: list[str] = field(default_factory=list)
    diffs: dict[str, str] = field(default_factory=dict)
    unsafe_fixes: bool = False

    def at_or_above(self, threshold: Severity) -> list[Finding]:
        return [f for f in self.findings if severity_at_least(f.severity, threshold)]

    @property
    def fixable_count(self) -> int:
        """Findings the run's fix mode would change."""
        return sum(1 for f in self.findings if f.fix_applies(self.unsafe_fixes))

    @property
    def hidden_fix_count(self) -> int:
        """Unsafe fixes not enabled in this run (the "N hidden fixes" of the text summary)."""
        return 0 if self.unsafe_fixes else sum(1 for f in self.findings if f.fixable and not f.fix_applies())
