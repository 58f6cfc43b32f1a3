"""``--format json``: one object with the findings (each with its rule's pointers) and the run's summary."""

from __future__ import annotations

import json
from typing import Any

from production_fastapi import __version__
from production_fastapi.review.findings import PARSE_ERROR_CODE, Report
from production_fastapi.rules import get_rule

__all__ = ["render_json", "report_to_dict"]


def report_to_dict(report: Report) -> dict[str, Any]:
    findings: list[dict[str, Any]] = []
    for finding in report.findings:
        item = finding.to_dict()
        item["fix"] = (
            {
                "applicability": finding.fix_applicability,
                "title": finding.fix_title,
                "applies": finding.fix_applies(report.unsafe_fixes),
            }
            if finding.fixable
            else None
        )
        if finding.code != PARSE_ERROR_CODE:
            rule = get_rule(finding.code)
            item["skill_section"] = rule.skill_section
            item["template"] = rule.template
        findings.append(item)
    return {
        "tool": "production-fastapi",
        "version": __version__,
        "files_checked": report.files_checked,
        "summary": {
            "findings": len(report.findings),
            "fixable": report.fixable_count,
            "hidden_unsafe_fixes": report.hidden_fix_count,
            "unsafe_fixes_enabled": report.unsafe_fixes,
            "fixed": report.fixed,
            "by_severity": {
                severity: sum(1 for f in report.findings if f.severity == severity)
                for severity in ("error", "warning", "info")
            },
        },
        "findings": findings,
        "errors": list(report.errors),
    }


def render_json(report: Report) -> str:
    return json.dumps(report_to_dict(report), indent=2, ensure_ascii=False) + "\n"
