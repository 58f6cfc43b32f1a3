"""``--format github``: GitHub Actions workflow commands, so findings show up as annotations on the pull request."""

from __future__ import annotations

from production_fastapi.review.findings import Report

__all__ = ["render_github"]

_LEVELS = {"error": "error", "warning": "warning", "info": "notice"}


def _escape_data(value: str) -> str:
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(value: str) -> str:
    return _escape_data(value).replace(":", "%3A").replace(",", "%2C")


def render_github(report: Report) -> str:
    lines: list[str] = []
    for f in report.findings:
        properties = ",".join(
            [
                f"file={_escape_property(f.path)}",
                f"line={f.line}",
                f"col={f.column}",
                f"endLine={f.end_line}",
                f"endColumn={f.end_column}",
                f"title={_escape_property(f'{f.code} ({f.name})')}",
            ]
        )
        message = f.message + (f" ({f.fix_note()})" if f.fixable else "")
        lines.append(f"::{_LEVELS[f.severity]} {properties}::{_escape_data(message)}")
    for error in report.errors:
        lines.append(f"::error title=production-fastapi::{_escape_data(error)}")
    return "\n".join(lines) + "\n" if lines else ""
