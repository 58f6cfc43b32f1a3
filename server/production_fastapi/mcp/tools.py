"""The template and scaffolding tools, apart from the protocol: plain functions returning the output models.

``server.py`` registers them; ``reviewing.py`` holds the review tools. Every failure a caller can cause is a
``ToolError`` with one sentence; the scaffolder (jinja2) is imported on first use so the server starts fast.
"""

from __future__ import annotations

from typing import Literal

from mcp.server.mcpserver.exceptions import ToolError

from production_fastapi import bundle
from production_fastapi.mcp.models import ScaffoldResult, TemplateContent, TemplateInfo, TemplateList
from production_fastapi.mcp.paths import PathPolicy, PathRefused

__all__ = ["get_template", "list_templates", "scaffold_service", "sentence", "template_uri"]


def template_uri(name: str) -> str:
    return f"production-fastapi://templates/{name}"


def _info(template: bundle.Template) -> TemplateInfo:
    return TemplateInfo(
        name=template.name, purpose=template.purpose, rules=list(template.rules), uri=template_uri(template.name)
    )


def list_templates() -> TemplateList:
    try:
        return TemplateList(templates=[_info(t) for t in bundle.list_templates()])
    except bundle.BundleError as exc:
        raise ToolError(str(exc)) from None


def get_template(name: str) -> TemplateContent:
    try:
        template = bundle.get_template(name.strip())
    except bundle.BundleError as exc:
        raise ToolError(f"{exc}.") from None
    return TemplateContent(**_info(template).model_dump(), content=template.content)


def scaffold_service(
    policy: PathPolicy, name: str, destination: str, database: Literal["sqlite", "postgres"], redis: bool
) -> ScaffoldResult:
    from production_fastapi.scaffold import ScaffoldError, generate

    try:
        dest = policy.new_directory(destination)
        written = generate(name, dest, database=database, redis=redis, force=False, within=policy.contains)
    except (PathRefused, ScaffoldError) as exc:
        raise ToolError(sentence(str(exc))) from None
    files = sorted(path.relative_to(dest).as_posix() for path in written)
    shown = policy.display(dest)
    steps = [
        f"cd {shown} && python -m venv .venv && . .venv/bin/activate && pip install -e '.[dev]'",
        "cp .env.example .env, then alembic upgrade head and fastapi dev (its README.md has the details)",
        "pytest, ruff check . and mypy all pass on the generated service; keep them passing",
        "add routers next to the example one, then run review_project on the folder",
    ]
    return ScaffoldResult(destination=shown, files=files, next_steps=steps)


def sentence(text: str) -> str:
    """End a message with a full stop; the case stays, since a message may start with a path."""
    text = text.strip()
    return text if text.endswith((".", "?", "!")) else text + "."
