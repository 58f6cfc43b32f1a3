"""The structured output of the MCP tools: these models become each tool's ``outputSchema``.

Field descriptions end up in the schema a client shows the model, so they say what a value means, not its type.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

__all__ = [
    "ReviewFinding",
    "ReviewResult",
    "ScaffoldResult",
    "TemplateContent",
    "TemplateInfo",
    "TemplateList",
]


class TemplateInfo(BaseModel):
    name: str = Field(description="File name to pass to get_template, e.g. middleware.py")
    purpose: str = Field(description="What the template is for, from its own header")
    rules: list[str] = Field(description="Rule codes (PFxxx) the template implements")
    uri: str = Field(description="Resource URI of the same file")


class TemplateList(BaseModel):
    templates: list[TemplateInfo]


class TemplateContent(TemplateInfo):
    content: str = Field(description="The file, ready to copy; templates import each other relatively")


class ReviewFinding(BaseModel):
    code: str = Field(description="Rule code, e.g. PF101")
    name: str = Field(description="Rule name, e.g. on-event-handler")
    severity: Literal["error", "warning", "info"]
    message: str
    path: str = Field(description="File, relative to the reviewed folder or allowed directory")
    line: int = Field(description="1-based line")
    column: int = Field(description="1-based column")
    end_line: int
    end_column: int
    fix: str | None = Field(description="What to do about it")
    fixable: bool = Field(description="True when `production-fastapi review` has an automatic fix for it")
    fix_applicability: Literal["safe", "unsafe"] | None = Field(
        default=None,
        description="safe: `review --fix` applies it and behaviour stays the same; unsafe: it may change "
        "behaviour, is applied only with `--fix --unsafe-fixes`, and needs a human's yes first",
    )
    skill_section: str | None = Field(description="SKILL.md section that explains the rule")
    template: str | None = Field(description="Template (get_template name) that implements the right pattern")
    rule_uri: str | None = Field(description="Resource with the rule's reasoning and a corrected example")


class ReviewResult(BaseModel):
    summary: str = Field(description="One line: how many findings of which severity, and how many were left out")
    files_checked: int
    total: int = Field(description="Findings before the cap")
    omitted: int = Field(description="Findings left out of `findings` by the cap (the least severe go first)")
    by_severity: dict[str, int]
    by_code: dict[str, int]
    findings: list[ReviewFinding]
    errors: list[str] = Field(description="Files that could not be reviewed, with the reason")


class ScaffoldResult(BaseModel):
    destination: str = Field(description="The new service folder")
    files: list[str] = Field(description="Files written, relative to the destination")
    next_steps: list[str]
