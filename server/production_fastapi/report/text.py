"""The default output, shaped like ruff's: ``path:line:col: CODE [*] message`` and a summary line."""

from __future__ import annotations

from production_fastapi.review.findings import Finding, Report

__all__ = ["format_finding", "hidden_fixes", "render_text", "summary"]


def format_finding(finding: Finding, unsafe_fixes: bool = False) -> str:
    """``[*]`` marks a fix this run's mode applies: safe ones, and unsafe ones under ``--unsafe-fixes`` (as ruff)."""
    marker = " [*]" if finding.fix_applies(unsafe_fixes) else ""
    return f"{finding.path}:{finding.line}:{finding.column}: {finding.code}{marker} {finding.message}"


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def summary(report: Report) -> str:
    """One line: what was found, what ``--fix`` did or could do."""
    count = len(report.findings)
    if report.fixed:
        fixed = f"Found {_plural(count + report.fixed, 'finding')} ({report.fixed} fixed, {count} remaining)."
        return fixed + hidden_fixes(report)
    if not count and report.errors:
        # Not "All checks passed": a folder that could not be read (mode 000, a link, a FIFO) was not checked.
        return (
            f"No findings in {_plural(report.files_checked, 'file')} checked, but "
            f"{_plural(len(report.errors), 'error')} kept some of the input from being reviewed."
        )
    if not count:
        return f"All checks passed! ({_plural(report.files_checked, 'file')} checked)"
    fixable = report.fixable_count
    option = "--fix --unsafe-fixes" if report.unsafe_fixes else "--fix"
    hint = f" ({fixable} fixable with `production-fastapi review {option}`)" if fixable else ""
    found = f"Found {_plural(count, 'finding')} in {_plural(len({f.path for f in report.findings}), 'file')}{hint}."
    return found + hidden_fixes(report)


def hidden_fixes(report: Report) -> str:
    """Ruff's hint: how many unsafe fixes the run left out (empty when none)."""
    hidden = report.hidden_fix_count
    if not hidden:
        return ""
    return f" {hidden} hidden fix{'es' if hidden != 1 else ''} can be enabled with the `--unsafe-fixes` option."


def render_text(report: Report) -> str:
    lines = [format_finding(finding, report.unsafe_fixes) for finding in report.findings]
    lines.append(summary(report))
    return "\n".join(lines) + "\n"
