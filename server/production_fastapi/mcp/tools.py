"""What each MCP tool does, apart from the protocol: plain functions returning the output models.

``server.py`` registers them; keeping them here means each is testable without a client and the server module only
describes the protocol surface. Every failure a caller can cause is a ``ToolError`` with one sentence; the reviewer
(libcst, the rules) and the scaffolder (jinja2) are imported on first use so the server starts fast.
"""

from __future__ import annotations

import importlib
from collections import Counter
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Literal

from mcp.server.mcpserver.exceptions import ToolError

from production_fastapi import bundle
from production_fastapi.mcp.models import (
    ReviewFinding,
    ReviewResult,
    ScaffoldResult,
    TemplateContent,
    TemplateInfo,
    TemplateList,
)
from production_fastapi.mcp.paths import PathPolicy, PathRefused

if TYPE_CHECKING:
    from production_fastapi.review import Finding

__all__ = [
    "DEFAULT_LIMIT",
    "MAX_LIMIT",
    "get_template",
    "list_templates",
    "review_file",
    "review_project",
    "review_text",
    "scaffold_service",
    "template_uri",
]

DEFAULT_LIMIT = 25
MAX_LIMIT = 200
# A project review reads at most this many files: a model pointing the tool at a home folder gets an answer, not
# a server busy for minutes.
MAX_PROJECT_FILES = 2000
_SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2}
# What a project review reads: Python plus the deployment files the text rules check.
_REVIEW_SUFFIXES = frozenset({".py", ".toml", ".ini", ".cfg", ".sh", ".yaml", ".yml"})
_REVIEW_NAMES = frozenset({"Dockerfile", "Containerfile", "Procfile"})


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


def _limit(limit: int) -> int:
    if not 1 <= limit <= MAX_LIMIT:
        raise ToolError(f"limit must be between 1 and {MAX_LIMIT}.")
    return limit


def _finding(finding: Finding, path: str) -> ReviewFinding:
    from production_fastapi.rules import get_rule

    try:
        rule = get_rule(finding.code)
    except KeyError:  # PF000 (the file does not parse) has no catalog entry
        rule = None
    return ReviewFinding(
        code=finding.code,
        name=finding.name,
        severity=finding.severity,
        message=finding.message,
        path=path,
        line=finding.line,
        column=finding.column,
        end_line=finding.end_line,
        end_column=finding.end_column,
        fix=finding.fix_title or (rule.fix_title if rule is not None else None),
        fixable=finding.fixable,
        skill_section=(rule.skill_section or None) if rule is not None else None,
        template=(rule.template or None) if rule is not None else None,
    )


def _result(findings: list[ReviewFinding], files_checked: int, errors: list[str], limit: int) -> ReviewResult:
    findings.sort(key=lambda f: (_SEVERITY_ORDER[f.severity], f.path, f.line, f.column, f.code))
    shown = findings[:limit]
    by_severity: Counter[str] = Counter(f.severity for f in findings)
    parts = [f"{by_severity[s]} {s}{'s' if by_severity[s] != 1 else ''}" for s in _SEVERITY_ORDER if by_severity[s]]
    files = f"{files_checked} file{'s' if files_checked != 1 else ''}"
    if findings:
        summary = f"{len(findings)} finding{'s' if len(findings) != 1 else ''} ({', '.join(parts)}) in {files}"
    else:
        summary = f"No findings in {files}"
    if len(shown) < len(findings):
        summary += f"; showing the {len(shown)} most severe, {len(findings) - len(shown)} left out"
    if errors:
        summary += f"; {len(errors)} file{'s' if len(errors) != 1 else ''} could not be reviewed"
    return ReviewResult(
        summary=summary + ".",
        files_checked=files_checked,
        total=len(findings),
        omitted=len(findings) - len(shown),
        by_severity={s: by_severity[s] for s in _SEVERITY_ORDER if by_severity[s]},
        by_code=dict(sorted(Counter(f.code for f in findings).items())),
        findings=shown,
        errors=errors,
    )


def review_text(result: ReviewResult) -> str:
    """The result as a model reads it best: one ruff-like line per finding, then the summary."""
    lines = []
    for f in result.findings:
        where = ", ".join(
            part
            for part in (
                f"fix: {f.fix}" if f.fix else "",
                f"SKILL.md: {f.skill_section}" if f.skill_section else "",
                f"template: {f.template}" if f.template else "",
            )
            if part
        )
        lines.append(
            f"{f.path}:{f.line}:{f.column}: {f.code} [{f.severity}] {f.message}" + (f" ({where})" if where else "")
        )
    lines.extend(f"not reviewed: {error}" for error in result.errors)
    lines.append(result.summary)
    return "\n".join(lines)


def _check_label(filename: str) -> str:
    label = filename.strip()
    if not label or len(label) > 255 or any(ord(ch) < 32 or ch == "\x7f" for ch in label):
        raise ToolError("filename must be a short file name such as app/main.py, without control characters.")
    return label


def _reviewer() -> ModuleType:
    """The reviewer package, imported on first use (libcst and the rules are not needed to serve templates)."""
    try:
        return importlib.import_module("production_fastapi.review")
    except ModuleNotFoundError as exc:
        if exc.name and "production_fastapi.review".startswith(exc.name):
            raise ToolError("The reviewer is not part of this installation; reinstall production-fastapi.") from None
        raise


def review_file(
    policy: PathPolicy, path: str | None, source: str | None, filename: str | None, limit: int
) -> ReviewResult:
    limit = _limit(limit)
    if (path is None) == (source is None):
        raise ToolError("Pass exactly one of path (a file to read) or source (code to check).")
    if source is not None:
        if len(source.encode("utf-8", "surrogatepass")) > policy.max_file_bytes:
            raise ToolError(f"source is larger than the {policy.max_file_bytes // 1000} kB limit for one file.")
        label = _check_label(filename or "app/main.py")
        text = source
    else:
        assert path is not None
        try:
            real, text = policy.read_text(path)
        except PathRefused as exc:
            raise ToolError(str(exc)) from None
        label = policy.display(real)
    findings = [_finding(f, label) for f in _reviewer().review_source(text, filename=label)]
    return _result(findings, 1, [], limit)


def _display(policy: PathPolicy, root: Path, raw: str) -> str:
    path = Path(raw)
    if path.is_absolute() and path.is_relative_to(root):
        return path.relative_to(root).as_posix()
    if path.is_absolute():
        return policy.display(path)
    return raw


def review_project(policy: PathPolicy, path: str, limit: int) -> ReviewResult:
    limit = _limit(limit)
    try:
        root = policy.directory(path)
        files = []
        for file in policy.project_files(root, _REVIEW_SUFFIXES, _REVIEW_NAMES):
            files.append(file.path)
            if len(files) > MAX_PROJECT_FILES:
                raise ToolError(
                    f"The folder holds more than {MAX_PROJECT_FILES} files to review; pass the service's own folder."
                )
    except PathRefused as exc:
        raise ToolError(str(exc)) from None
    report = _reviewer().review_paths(files)
    findings = [_finding(f, _display(policy, root, str(f.path))) for f in report.findings]
    errors = [str(error) for error in report.errors]
    return _result(findings, report.files_checked, errors, limit)


def scaffold_service(
    policy: PathPolicy, name: str, destination: str, database: Literal["sqlite", "postgres"], redis: bool
) -> ScaffoldResult:
    from production_fastapi.scaffold import ScaffoldError, generate

    try:
        dest = policy.new_directory(destination)
        written = generate(name, dest, database=database, redis=redis, force=False)
    except (PathRefused, ScaffoldError) as exc:
        raise ToolError(_sentence(str(exc))) from None
    files = sorted(path.relative_to(dest).as_posix() for path in written)
    shown = policy.display(dest)
    steps = [
        f"cd {shown} && python -m venv .venv && .venv/bin/pip install -e '.[dev]'",
        "run its tests: .venv/bin/pytest",
        "start it: .venv/bin/fastapi run (SQLite and in-memory rate limits until DATABASE_URL / REDIS_URL are set)",
        "review it after changes: review_project",
    ]
    return ScaffoldResult(destination=shown, files=files, next_steps=steps)


def _sentence(text: str) -> str:
    text = text.strip()
    text = text[:1].upper() + text[1:]
    return text if text.endswith((".", "?", "!")) else text + "."
