"""Running rules over one file's text: parse once, run every selected rule, apply suppressions.

This module is pure computation on strings (no file system, no cache, no processes), so the worker processes, the
in-process path, ``review_source`` and the fix loop all share it.
"""

from __future__ import annotations

import ast
import fnmatch
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from production_fastapi.review.findings import PARSE_ERROR_CODE, PARSE_ERROR_NAME, Finding
from production_fastapi.review.noqa import parse_suppressions
from production_fastapi.review.targets import Targets, coverage
from production_fastapi.rules import all_rules
from production_fastapi.rules.base import CONTEXTS, Rule, Violation
from production_fastapi.rules.context import FileContext, ProjectContext, TextContext
from production_fastapi.rules.contexts import context_at, path_context
from production_fastapi.rules.guards import GUARD_HINT, Guards, library_family, version_guards

__all__ = [
    "FileOutcome",
    "RuleSelection",
    "check_project",
    "check_python",
    "check_text",
    "parse_error",
    "parse_python",
]


@dataclass(frozen=True, slots=True)
class RuleSelection:
    """The rules that apply to one file, split by kind."""

    file: tuple[Rule, ...]
    project: tuple[Rule, ...]
    text: tuple[Rule, ...]

    @classmethod
    def of(cls, rules: Iterable[Rule]) -> RuleSelection:
        chosen = list(rules)
        return cls(
            tuple(r for r in chosen if r.kind == "file"),
            tuple(r for r in chosen if r.kind == "project"),
            tuple(r for r in chosen if r.kind == "text"),
        )

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(r.code for r in (*self.file, *self.project, *self.text))

    def text_globs(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(glob for rule in self.text for glob in rule.files))


@dataclass(slots=True)
class FileOutcome:
    """What reviewing one file produced. Plain data: it crosses process boundaries and lives in the cache.

    ``modules`` are the top-level modules the file imports (the engine picks the files project rules see by it);
    ``internal_errors`` are rules that raised (a bug of ours, reported as a run error, never swallowed).
    """

    findings: list[Finding] = field(default_factory=list)
    modules: tuple[str, ...] = ()
    parsed: bool = False
    internal_errors: list[str] = field(default_factory=list)


def parse_error(path: str, message: str, line: int = 1, column: int = 1) -> Finding:
    return Finding(
        path=path,
        line=max(line, 1),
        column=max(column, 1),
        code=PARSE_ERROR_CODE,
        end_line=max(line, 1),
        end_column=max(column, 1),
        name=PARSE_ERROR_NAME,
        severity="error",
        message=message,
    )


def parse_python(path: str, source: str, data: bytes | None = None) -> ast.Module | Finding:
    """``ast.parse`` with every failure turned into a PF000 finding at the parser's position.

    ``data``, the file's raw bytes when the caller has them, is what gets parsed: CPython parses bytes about 30%
    faster than a str (it skips re-encoding the text), and the tree is the same. A syntax error is re-raised from
    the text so its column counts characters.
    """
    try:
        with warnings.catch_warnings():
            # Invalid escape sequences and the like warn at compile time; they are not our findings.
            warnings.simplefilter("ignore")
            if data is not None:
                try:
                    return ast.parse(data, filename=path, type_comments=False)
                except SyntaxError:
                    pass  # parse the text below for a character-based position
            return ast.parse(source, filename=path, type_comments=False)
    except SyntaxError as exc:
        line = exc.lineno or 1
        column = exc.offset or 1
        return parse_error(path, f"syntax error: {exc.msg}", line, column)
    except (ValueError, MemoryError, RecursionError) as exc:
        reason = "too deeply nested to parse" if not isinstance(exc, ValueError) else str(exc)
        return parse_error(path, f"cannot parse: {reason}")


class _Versions:
    """Judges each violation against the project's declared versions and the file's version guards."""

    def __init__(self, targets: Targets) -> None:
        self.targets = targets
        self._guards: dict[int, Guards] = {}

    def _file_guards(self, ctx: FileContext | None) -> Guards:
        if ctx is None:
            return {}
        found = self._guards.get(id(ctx))
        if found is None:
            found = self._guards[id(ctx)] = version_guards(ctx) if GUARD_HINT.search(ctx.source) else {}
        return found

    def finding(self, rule: Rule, violation: Violation, path: str, ctx: FileContext | None) -> Finding | None:
        """The finding to report, or None when the versions or a guard rule it out."""
        condition = rule.version_condition
        if condition is None:
            return _to_finding(rule, violation, path)
        scope = coverage(self.targets, condition)
        if scope == "off" or (scope == "compat" and not violation.breaking):
            return None
        ranges = self._file_guards(ctx).get(library_family(condition.library), [])
        if any(first <= violation.line <= last for first, last in ranges):
            return None
        if ranges and not violation.breaking:
            # A file that guards on the library's version is compatibility code as a whole: the old spelling
            # outside the guard is the one both versions accept. Only what breaks on one of them is news.
            return None
        # Compatibility code keeps the old spelling on purpose: a rewrite to the new API breaks the old versions.
        # A project that declares no range for the library may run on any version of it: a rewrite that holds only
        # on some cannot be promised safe there, so it is offered as unsafe.
        declared = bool(dict(self.targets).get(condition.library))
        return _to_finding(
            rule, violation, path, fix_allowed=scope == "full" and not ranges, force_unsafe=not declared
        )


def _to_finding(
    rule: Rule, violation: Violation, path: str, *, fix_allowed: bool = True, force_unsafe: bool = False
) -> Finding:
    applicability: str | None = None
    if rule.fix is not None and violation.fixable and fix_allowed:
        unsafe = force_unsafe or rule.fix_applicability == "unsafe" or violation.unsafe_fix
        applicability = "unsafe" if unsafe else "safe"
    return Finding(
        path=violation.path or path,
        line=violation.line,
        column=violation.column,
        code=rule.code,
        end_line=violation.end_line,
        end_column=violation.end_column,
        name=rule.name,
        severity=rule.severity,
        message=violation.message or rule.message,
        fixable=applicability is not None,
        fix_title=rule.fix_title,
        fix_applicability=applicability,
    )


def _applies(rule: Rule, ctx: FileContext, line: int) -> bool:
    """Whether the rule judges this line's kind of code (service, test, migration...: ``rules/contexts.py``)."""
    return len(rule.contexts) == len(CONTEXTS) or context_at(ctx, line) in rule.contexts


def _run(rule: Rule, target: object, path: str, outcome: FileOutcome) -> list[Violation]:
    try:
        return list(rule.check(target))
    except Exception as exc:  # a rule bug must not hide the other rules' findings
        outcome.internal_errors.append(f"{path}: internal error in {rule.code} ({type(exc).__name__}: {exc})")
        return []


def check_python(
    path: str,
    source: str,
    rules: Sequence[Rule],
    module: str | None = None,
    data: bytes | None = None,
    *,
    targets: Targets = (),
) -> tuple[FileOutcome, FileContext | None]:
    """Run the file rules on one Python source; returns the outcome and the context (None when unparsable).

    ``data`` is the source's raw bytes, when known (faster to parse, see :func:`parse_python`); ``targets`` the
    library versions the project declares (rules conditioned on versions are judged against them)."""
    outcome = FileOutcome()
    tree = parse_python(path, source, data)
    if isinstance(tree, Finding):
        outcome.findings.append(tree)
        return outcome, None
    outcome.parsed = True
    ctx = FileContext(path, source, tree, module)
    modules = ctx.modules
    outcome.modules = tuple(sorted(modules))
    suppressions = parse_suppressions(source, python=True)
    versions = _Versions(targets)
    for rule in rules:
        if rule.kind != "file" or (rule.requires and modules.isdisjoint(rule.requires)):
            continue
        if coverage(targets, rule.version_condition) == "off":
            continue
        for violation in _run(rule, ctx, path, outcome):
            if not suppressions.suppresses(rule.code, violation.line, violation.end_line) and _applies(
                rule, ctx, violation.line
            ):
                finding = versions.finding(rule, violation, path, ctx)
                if finding is not None:
                    outcome.findings.append(finding)
    outcome.findings.sort(key=Finding.sort_key)
    return outcome, ctx


def check_text(
    path: str, text: str, rules: Sequence[Rule], targets: Targets = (), relative: str | None = None
) -> FileOutcome:
    """Run the text rules whose globs match this file's name (and whose contexts hold ``relative``, the path
    inside the project; the display path when unknown)."""
    outcome = FileOutcome(parsed=True)
    ctx = TextContext(path, text)
    suppressions = parse_suppressions(text)
    versions = _Versions(targets)
    context = path_context(relative or path)
    for rule in rules:
        if rule.kind != "text" or not any(fnmatch.fnmatchcase(ctx.name, glob) for glob in rule.files):
            continue
        if context not in rule.contexts or coverage(targets, rule.version_condition) == "off":
            continue
        for violation in _run(rule, ctx, path, outcome):
            if not suppressions.suppresses(rule.code, violation.line, violation.end_line):
                finding = versions.finding(rule, violation, path, None)
                if finding is not None:
                    outcome.findings.append(finding)
    outcome.findings.sort(key=Finding.sort_key)
    return outcome


def check_project(
    contexts: Sequence[FileContext],
    rules: Sequence[Rule],
    *,
    complete: bool = True,
    allowed: dict[str, frozenset[str]] | None = None,
    targets: Targets = (),
) -> FileOutcome:
    """Run project rules over the files they gate on; findings land in the files they point at.

    ``allowed`` maps a path to the codes that may report there (per-file ignores and selection); suppression
    comments of the target file apply as usual.
    """
    outcome = FileOutcome(parsed=True)
    suppressions = {ctx.path: parse_suppressions(ctx.source, python=True) for ctx in contexts}
    by_path = {ctx.path: ctx for ctx in contexts}
    versions = _Versions(targets)
    # Rules gating on the same modules share one ProjectContext, so the app graph is built once for them.
    projects: dict[frozenset[str], ProjectContext | None] = {}
    for rule in rules:
        if rule.kind != "project" or coverage(targets, rule.version_condition) == "off":
            continue
        gate = frozenset(rule.requires)
        if gate not in projects:
            seen = [c for c in contexts if not gate or not c.modules.isdisjoint(gate)]
            projects[gate] = ProjectContext(seen, complete=complete, targets=targets) if seen else None
        project = projects[gate]
        if project is None:
            continue
        for violation in _run(rule, project, "<project>", outcome):
            path = violation.path
            if allowed is not None and rule.code not in allowed.get(path, frozenset()):
                continue
            file_suppressions = suppressions.get(path)
            if file_suppressions and file_suppressions.suppresses(rule.code, violation.line, violation.end_line):
                continue
            target = by_path.get(path)
            if target is not None and not _applies(rule, target, violation.line):
                continue
            finding = versions.finding(rule, violation, path, target)
            if finding is not None:
                outcome.findings.append(finding)
    outcome.findings.sort(key=Finding.sort_key)
    return outcome


def default_rules() -> tuple[Rule, ...]:
    return tuple(all_rules())
