"""``--format markdown``: a summary for a pull-request comment or a job summary, grouped by file, with each rule's
reason and fix so a reader does not have to look anything up."""

from __future__ import annotations

from itertools import groupby

from production_fastapi.review.findings import PARSE_ERROR_CODE, Finding, Report
from production_fastapi.rules import get_rule

__all__ = ["render_markdown"]

_ICONS = {"error": "error", "warning": "warning", "info": "info"}


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _rules_section(findings: list[Finding]) -> list[str]:
    codes = sorted({f.code for f in findings if f.code != PARSE_ERROR_CODE})
    if not codes:
        return []
    lines = ["", "### Why these matter", ""]
    for code in codes:
        rule = get_rule(code)
        where = "; ".join(
            part
            for part in (
                f"SKILL.md: {rule.skill_section}" if rule.skill_section else "",
                f"template: `{rule.template}`" if rule.template else "",
            )
            if part
        )
        fix = f" Fix: {rule.fix_title}." if rule.fix_title else ""
        lines.append(f"- **{code} {rule.name}** ({rule.severity}): {_cell(rule.docs.why)}{fix}")
        if where:
            lines.append(f"  ({where})")
    return lines


def render_markdown(report: Report) -> str:
    count = len(report.findings)
    lines = ["## production-fastapi review", ""]
    if not count:
        lines.append(f"No findings in {report.files_checked} checked files.")
    else:
        files = len({f.path for f in report.findings})
        option = "--fix --unsafe-fixes" if report.unsafe_fixes else "--fix"
        fixable = f", {report.fixable_count} fixable with `{option}`" if report.fixable_count else ""
        hidden = report.hidden_fix_count
        if hidden:
            fixable += f", {hidden} unsafe fix{'es' if hidden != 1 else ''} hidden (`--unsafe-fixes`)"
        lines.append(f"**{count} findings** in {files} files ({report.files_checked} checked{fixable}).")
        for path, group in groupby(report.findings, key=lambda f: f.path):
            lines += ["", f"### `{path}`", "", "| line | rule | severity | message |", "|---:|---|---|---|"]
            for f in group:
                marker = f" ({f.fix_applicability} fix)" if f.fixable else ""
                lines.append(
                    f"| {f.line}:{f.column} | `{f.code}` {f.name} | {_ICONS[f.severity]} | {_cell(f.message)}{marker} |"
                )
        lines += _rules_section(report.findings)
    if report.errors:
        lines += ["", "### Errors", ""]
        lines += [f"- {_cell(error)}" for error in report.errors]
    return "\n".join(lines) + "\n"
