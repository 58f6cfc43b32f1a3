"""The review tools: the reviewer's findings, shaped for a model and kept inside the path policy.

The reviewer on its own looks for configuration upward of a file, follows symlinked files and keeps a cache folder
in the project. A read-only tool does none of that outside the allow-list, so this module:

- loads ``[tool.production-fastapi]`` only from pyproject.toml files inside the allowed directories;
- lets the reviewer's discovery choose and read the files (its excludes, ``.gitignore``; folders opened through
  descriptors without following links, each file read once through the descriptor that was checked), then holds
  every one to the policy (no second hard link, under the size cap) and reviews those bytes, never re-reading;
- runs without the cache and in this process, so a review writes nothing and starts no workers.

Results are capped (most severe first) with a count of what was left out: Claude Code warns at 10k tokens of tool
output, and a model acts on the first errors anyway.
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

from mcp.server.mcpserver.exceptions import ToolError

from production_fastapi.fsaccess import check_deadline
from production_fastapi.mcp.catalog import RULES_URI, rule_uri
from production_fastapi.mcp.models import ReviewFinding, ReviewResult
from production_fastapi.mcp.paths import PathPolicy, PathRefused

if TYPE_CHECKING:
    from production_fastapi.review import Config, Finding
    from production_fastapi.review.files import Discovered

__all__ = ["DEFAULT_LIMIT", "MAX_LIMIT", "MAX_PROJECT_FILES", "review_file", "review_project", "review_text"]

DEFAULT_LIMIT = 25
MAX_LIMIT = 200
# A model pointing review_project at a home folder gets a clear answer instead of a server busy for minutes.
MAX_PROJECT_FILES = 2000
MAX_ERRORS = 20
_SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2}
_DEFAULT_FILENAME = "app/main.py"


def _limit(limit: int) -> int:
    if not 1 <= limit <= MAX_LIMIT:
        raise ToolError(f"limit must be between 1 and {MAX_LIMIT}.")
    return limit


def _config_for(policy: PathPolicy, start: Path) -> Config:
    """The nearest pyproject.toml with our table, looking upward from ``start`` but never leaving the allow-list."""
    from production_fastapi.review import Config, ConfigError
    from production_fastapi.review.config import TABLE, config_from_table, parse_toml, with_targets

    for folder in (start, *start.parents):
        if not any(folder.is_relative_to(allowed) for allowed in policy.allowed):
            break
        candidate = folder / "pyproject.toml"
        if not os.path.lexists(candidate):
            continue
        try:
            _, text = policy.read_text(str(candidate))
        except PathRefused as exc:
            # A link to a file elsewhere, a FIFO, a 1 GB file: not ours to read, and the client is told.
            raise ToolError(str(exc)) from None
        # Like the reviewer: only a file that mentions our table is parsed, so a broken unrelated one is no error.
        if f"tool.{TABLE}" not in text and f'tool."{TABLE}"' not in text:
            continue
        try:
            table = parse_toml(text, "the file").get("tool", {}).get(TABLE)
            if table is None:
                continue
            if not isinstance(table, dict):
                raise ConfigError(f"[tool.{TABLE}] must be a table")
            return with_targets(config_from_table(table, folder, candidate))
        except ConfigError as exc:
            shown = policy.display(candidate)
            raise ToolError(f"{shown} has an unusable [tool.{TABLE}] table: {str(exc).splitlines()[0]}.") from None
    # No table: the defaults, rooted at the allowed directory holding ``start`` (the project, as the client sees it),
    # so a file is named app/main.py or tests/test_api.py rather than by its bare name.
    home = next((allowed for allowed in policy.allowed if start.is_relative_to(allowed)), start)
    return with_targets(Config(root=home))


def _finding(finding: Finding, path: str) -> ReviewFinding:
    from production_fastapi.rules import get_rule

    try:
        rule = get_rule(finding.code)
    except KeyError:  # PF000 (the file does not parse) is not a catalog rule
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
        fix_applicability=finding.fix_applicability if finding.fixable else None,  # type: ignore[arg-type]
        skill_section=(rule.skill_section or None) if rule is not None else None,
        template=(rule.template or None) if rule is not None else None,
        rule_uri=rule_uri(rule.code) if rule is not None else None,
    )


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _result(findings: list[ReviewFinding], files_checked: int, errors: list[str], limit: int) -> ReviewResult:
    findings.sort(key=lambda f: (_SEVERITY_ORDER[f.severity], f.path, f.line, f.column, f.code))
    shown = findings[:limit]
    by_severity: Counter[str] = Counter(f.severity for f in findings)
    counts = {s: by_severity[s] for s in _SEVERITY_ORDER if by_severity[s]}
    files = _plural(files_checked, "file")
    if findings:
        detail = ", ".join(_plural(n, s) for s, n in counts.items())
        summary = f"{_plural(len(findings), 'finding')} ({detail}) in {files}"
    else:
        summary = f"No findings in {files}"
    if len(shown) < len(findings):
        summary += f"; showing the {len(shown)} most severe, {len(findings) - len(shown)} left out"
    if errors:
        summary += f"; {_plural(len(errors), 'file')} could not be reviewed"
        if len(errors) > MAX_ERRORS:
            errors = [*errors[:MAX_ERRORS], f"... and {len(errors) - MAX_ERRORS} more"]
    return ReviewResult(
        summary=summary + ".",
        files_checked=files_checked,
        total=len(findings),
        omitted=len(findings) - len(shown),
        by_severity=counts,
        by_code=dict(sorted(Counter(f.code for f in findings).items())),
        findings=shown,
        errors=errors,
    )


def review_text(result: ReviewResult) -> str:
    """The result as a model reads it best: one ruff-like line per finding, then the summary."""
    lines = []
    for f in result.findings:
        notes = [
            note
            for note in (
                f"fix: {f.fix}" if f.fix else "",
                f"{f.fix_applicability} fix" if f.fix_applicability else "",
                f"SKILL.md: {f.skill_section}" if f.skill_section else "",
                f"template: {f.template}" if f.template else "",
            )
            if note
        ]
        suffix = f" ({'; '.join(notes)})" if notes else ""
        lines.append(f"{f.path}:{f.line}:{f.column}: {f.code} [{f.severity}] {f.message}{suffix}")
    lines.extend(f"not reviewed: {error}" for error in result.errors)
    if any(f.fix_applicability == "unsafe" for f in result.findings):
        lines.append("Unsafe fixes may change behaviour: apply them only after a human says yes.")
    lines.append(result.summary)
    if result.findings:
        lines.append(f"Why each rule matters, with a corrected example: {RULES_URI}/<code>.")
    return "\n".join(lines)


def _selection(select: list[str] | None) -> tuple[str, ...] | None:
    """The rule selectors a caller passed (None: the configured set, by default the default rules)."""
    if select is None:
        return None
    from production_fastapi.review import ConfigError
    from production_fastapi.review.config import parse_selectors

    try:
        chosen = parse_selectors(select, "select")
    except ConfigError as exc:
        raise ToolError(str(exc)) from None
    if not chosen:
        raise ToolError("select names no rule: pass codes or prefixes such as PF, PF7, PF203 or ALL.")
    return chosen


def _check_label(filename: str) -> str:
    label = filename.strip()
    if not label or len(label) > 255 or any(ord(ch) < 32 or ch == "\x7f" for ch in label):
        raise ToolError("filename must be a short file name such as app/main.py, without control characters.")
    return label


def review_file(
    policy: PathPolicy,
    path: str | None,
    source: str | None,
    filename: str | None,
    limit: int,
    *,
    select: list[str] | None = None,
    deadline: float | None = None,
) -> ReviewResult:
    limit = _limit(limit)
    chosen = _selection(select)
    if (path is None) == (source is None):
        raise ToolError("Pass exactly one of path (a file to read) or source (code to check).")
    if source is not None:
        if len(source.encode("utf-8", "surrogatepass")) > policy.max_file_bytes:
            raise ToolError(f"source is larger than the {policy.max_file_bytes // 1000} kB limit for one file.")
        label = _check_label(filename or _DEFAULT_FILENAME)
        from production_fastapi.review import review_source

        found = review_source(source, filename=label, select=chosen)
        return _result([_finding(f, label) for f in found], 1, [], limit)
    try:
        real, text = policy.read_text(path or "")
    except PathRefused as exc:
        raise ToolError(str(exc)) from None
    config = _config_for(policy, real.parent)
    check_deadline(deadline)
    # Named relative to its configuration root, as the CLI run from the project root would name it, so
    # per-file ignores, path-based rules and module names come out the same.
    relative = real.relative_to(config.root).as_posix() if real.is_relative_to(config.root) else real.name
    from production_fastapi.review import review_source

    found = review_source(text, filename=relative, config=config, select=chosen)
    shown = policy.display(real)
    return _result([_finding(f, shown) for f in found], 1, [], limit)


def _vetted_files(
    policy: PathPolicy, root: Path, config: Config, deadline: float | None
) -> tuple[list[Discovered], list[str]]:
    """What the reviewer reads under ``root`` (its excludes, ``.gitignore``), each file read once through the
    descriptor its walk opened without following links, then held to the policy: no hard links, the size cap."""
    from production_fastapi.review.files import ConfigLookup, discover, text_globs

    discovered, walk_errors = discover(
        [root], ConfigLookup(config), text_globs(), deadline=deadline, open_folder=policy.open_directory
    )
    files: list[Discovered] = []
    errors = [_shown_error(policy, error) for error in walk_errors]
    for item in discovered:
        shown = policy.display(item.path)
        if item.vetted.links > 1:
            errors.append(f"{shown} has other hard links (it may be a file from elsewhere), so it is not read.")
            continue
        if item.vetted.truncated or item.vetted.size > policy.max_file_bytes:
            errors.append(f"{shown} is larger than the {policy.max_file_bytes // 1000} kB limit for one file.")
            continue
        try:
            item.vetted.data.decode("utf-8")
        except UnicodeDecodeError:
            errors.append(f"{shown} is not UTF-8 text, so it cannot be reviewed.")
            continue
        files.append(item)
        if len(files) > MAX_PROJECT_FILES:
            raise ToolError(
                f"The folder holds more than {MAX_PROJECT_FILES} files to review; pass the service's own folder."
            )
    return files, errors


def _shown_error(policy: PathPolicy, error: str) -> str:
    """A walk error ("/abs/path: reason") with the path as the client knows it (walk paths are all inside)."""
    where, sep, reason = error.partition(": ")
    if not sep:
        return error
    return f"{policy.display(Path(where))}: {reason}"


def _relative_to(root: Path, policy: PathPolicy, raw: str) -> str:
    path = Path(raw)
    if not path.is_absolute():
        path = Path.cwd() / path  # the reviewer names files relative to the working directory
    return path.relative_to(root).as_posix() if path.is_relative_to(root) else policy.display(path)


def review_project(
    policy: PathPolicy, path: str, limit: int, *, select: list[str] | None = None, deadline: float | None = None
) -> ReviewResult:
    limit = _limit(limit)
    chosen = _selection(select)
    try:
        root = policy.directory(path)
    except PathRefused as exc:
        raise ToolError(str(exc)) from None
    config = _config_for(policy, root)
    files, errors = _vetted_files(policy, root, config, deadline)
    from production_fastapi.review.runner import Runner

    report = Runner(config=config, select=chosen, cache=False, jobs=1, deadline=deadline).run_discovered(files, [])
    findings = [_finding(f, _relative_to(root, policy, f.path)) for f in report.findings]
    return _result(findings, report.files_checked, errors + list(report.errors), limit)
