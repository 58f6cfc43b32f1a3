"""Output formats for a review: text (ruff-like), json, sarif (2.1.0), markdown, github (workflow annotations)."""

from __future__ import annotations

from collections.abc import Callable

from production_fastapi.review.findings import Report

__all__ = ["FORMATS", "render"]

FORMATS: tuple[str, ...] = ("text", "json", "sarif", "markdown", "github")


def _renderer(name: str) -> Callable[[Report], str]:
    if name == "text":
        from production_fastapi.report.text import render_text

        return render_text
    if name == "json":
        from production_fastapi.report.json_format import render_json

        return render_json
    if name == "sarif":
        from production_fastapi.report.sarif import render_sarif

        return render_sarif
    if name == "markdown":
        from production_fastapi.report.markdown import render_markdown

        return render_markdown
    if name == "github":
        from production_fastapi.report.github import render_github

        return render_github
    raise ValueError(f"unknown format {name!r}; choose one of {', '.join(FORMATS)}")


def render(report: Report, format: str = "text") -> str:
    """The report in one of :data:`FORMATS`, ending with a newline (empty string when there is nothing to say)."""
    return _renderer(format)(report)
