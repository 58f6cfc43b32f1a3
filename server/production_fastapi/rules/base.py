"""The rule API: what a rule is, how it reports, and how it registers itself.

A rule is metadata (code, name, severity, message, ruff-style docs, where the skill and the templates cover it) plus
one check function. There are three kinds of check, chosen by the decorator that registers it:

- ``@file_rule``: ``check(ctx: FileContext) -> Iterable[Violation]``, once per Python file, on stdlib ``ast``;
- ``@project_rule``: ``check(project: ProjectContext) -> Iterable[Violation]``, once per project, seeing every Python
  file (and the app/router graph built across them);
- ``@text_rule``: ``check(ctx: TextContext) -> Iterable[Violation]``, once per non-Python file whose name matches
  the rule's ``files`` globs (Dockerfile, Procfile, shell scripts, gunicorn ``.toml``/``.ini`` configs...).

A check yields :class:`Violation` values built with ``ctx.violation(node)`` (or ``ctx.violation_at(...)`` for text),
so positions are always 1-based lines and 1-based character columns whatever the file's encoding.

A fix is a libcst transformer class (subclass of :class:`production_fastapi.rules.fixes.FixTransformer`) named by
``fix="package.module:Class"``; the engine applies it only where the rule reported. Every fix declares
``fix_applicability``: "safe" fixes run with ``--fix``, "unsafe" ones only with ``--unsafe-fixes`` as well.
A rule whose truth depends on a library's version declares it in ``versions`` (see "Versions and fix safety").
This module imports nothing heavy: libcst is imported only by the fix machinery, when a fix is applied.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, TypeVar

if TYPE_CHECKING:
    from production_fastapi.rules.context import FileContext, ProjectContext, TextContext

__all__ = [
    "AREAS",
    "CONTEXTS",
    "DEPRECATION_CONTEXTS",
    "LAUNCH_CONTEXTS",
    "SERVICE_ONLY",
    "SEVERITIES",
    "Context",
    "FileCheck",
    "FixApplicability",
    "ProjectCheck",
    "Rule",
    "RuleDocs",
    "RuleError",
    "RuleKind",
    "Severity",
    "TextCheck",
    "Tier",
    "VersionCondition",
    "Violation",
    "file_rule",
    "project_rule",
    "registered_rules",
    "text_rule",
]

Severity = Literal["error", "warning", "info"]
RuleKind = Literal["file", "project", "text"]
FixApplicability = Literal["safe", "unsafe"]

#: Ordered from most to least severe; ``--fail-on`` compares by position here.
SEVERITIES: tuple[Severity, ...] = ("error", "warning", "info")

#: The first digit of a code names the area; the areas are SKILL.md's sections.
AREAS: dict[str, str] = {
    "0": "security",
    "1": "lifecycle",
    "2": "logging",
    "3": "health checks",
    "4": "error handling",
    "5": "middleware and CORS",
    "6": "Pydantic v2",
    "7": "async",
    "8": "deployment",
    "9": "rate limiting",
}

_CODE = re.compile(r"PF[0-9]{3}")
_FIX_REF = re.compile(r"[A-Za-z_][\w.]*:[A-Za-z_]\w*")
_NAME = re.compile(r"[a-z][a-z0-9]*(?:-[a-z0-9]+)*")


# --- where a rule applies, and whether it runs by default (issue #12) ------------------------------------------
# Kept apart from the rest of the metadata on purpose: the engine drops a finding whose place is in a context the rule
# does not list (``rules/contexts.py`` classifies files and blocks), and the selection runs an opt-in rule only when
# it is selected by its full code (``review/config.py``).

Context = Literal["service", "debug", "script", "test", "migration", "example", "vendored"]
Tier = Literal["default", "opt-in"]

#: Every context, with what puts code there (docs/rules.md prints these).
CONTEXTS: dict[Context, str] = {
    "service": "the running service: everything not in another context",
    "debug": 'blocks behind a debug or profiling flag (`if settings.DEBUG:`, `if os.getenv("PROFILE"):`, '
    "`if in_debug_mode():`)",
    "script": "scripts and command-line tools (`scripts/`, `bin/`, `cli/`, `management/commands/`, `manage.py`, "
    "`__main__.py`, "
    '`if __name__ == "__main__":` blocks, click/typer commands)',
    "test": "tests and test helpers (`tests/`, `testing/`, `fixtures/`, `test_*.py`, `*_test.py`, `conftest.py`)",
    "migration": "database migrations (`migrations/`, `alembic/versions/`, `migrations.py`, files with `revision` and "
    "`down_revision` and `def upgrade()`)",
    "example": "examples and documentation (`examples/`, `docs/`, `docs_src/`, `tutorial/`)",
    "vendored": "third-party code copied into the project (`third_party/`, `thirdparty/`, `vendor/`, `_vendor/`): "
    "its upstream owns it, and no rule reports there",
}
#: The default: the rule judges the service and nothing else.
SERVICE_ONLY: tuple[Context, ...] = ("service",)
#: Rules about how the server is started: a script that runs uvicorn is the service's launcher.
LAUNCH_CONTEXTS: tuple[Context, ...] = ("service", "script")
#: Rules about removed, deprecated or abandoned APIs: wrong wherever code runs or is copied from. Not in tests (a
#: library's tests exercise its old API on purpose) nor in migrations (frozen history, never edited).
DEPRECATION_CONTEXTS: tuple[Context, ...] = ("service", "debug", "script", "example")


class RuleError(Exception):
    """A rule definition is invalid (caught at import time, so a broken rule never ships silently)."""


@dataclass(frozen=True, slots=True)
class RuleDocs:
    """The documentation of one rule, in ruff's fixed sections.

    ``example`` and ``use_instead`` are complete source files (Python for file and project rules, the target file's
    text for text rules): a meta-test reviews them and expects the example to trigger the rule and the other not to.
    ``example_filename`` names the file they are reviewed as (e.g. ``Dockerfile`` for a text rule).
    """

    what_it_does: str
    why: str
    example: str
    use_instead: str
    fix_safety: str = ""
    example_filename: str = "app/main.py"


@dataclass(frozen=True, slots=True)
class Violation:
    """One place where a rule fires. Lines and columns are 1-based; columns count characters, not bytes.

    ``message`` overrides the rule's message when the rule has something more specific to say.
    ``fixable`` lets a check say that this particular occurrence cannot be fixed automatically.
    ``path`` is filled in by the context that built the violation (project rules report into many files).
    """

    line: int
    column: int
    end_line: int
    end_column: int
    message: str | None = None
    fixable: bool = True
    path: str = ""
    #: This occurrence fails outright (not merely deprecated) on the versions the rule's ``versions`` names: the
    #: only kind a compatibility project (one allowing versions on both sides) is told about.
    breaking: bool = False
    #: This occurrence's fix changes behaviour although the rule's fix is declared safe (it can only downgrade).
    unsafe_fix: bool = False


FileCheck = Callable[["FileContext"], Iterable[Violation]]
ProjectCheck = Callable[["ProjectContext"], Iterable[Violation]]
TextCheck = Callable[["TextContext"], Iterable[Violation]]


@dataclass(frozen=True, slots=True, eq=False)
class Rule:
    """A rule's metadata and its check.

    ``requires`` is a gate: top-level module names (``"httpx"``, ``"fastapi"``) of which the file must import at
    least one for the check to run at all; empty means always run. It keeps the reviewer fast on files that cannot
    match. ``files`` are the filename globs a text rule wants (matched against the file's name, case-sensitively).
    ``fix`` names a :class:`~production_fastapi.rules.fixes.FixTransformer` subclass as ``"package.module:Class"``
    (imported only when a fix is applied, so loading the rules never imports libcst), or None.
    """

    code: str
    name: str
    severity: Severity
    message: str
    docs: RuleDocs
    kind: RuleKind
    check: Callable[..., Iterable[Violation]]
    fix_title: str | None = None
    skill_section: str = ""
    template: str | None = None
    requires: tuple[str, ...] = ()
    files: tuple[str, ...] = ()
    fix: str | None = None
    fix_applicability: FixApplicability | None = None
    module: str = ""
    extra: dict[str, str] = field(default_factory=dict)
    versions: str = ""
    # Issue #12 (see the block above ``RuleError``): where the rule applies, and why it is opt-in ("" = default).
    contexts: tuple[Context, ...] = SERVICE_ONLY
    opt_in: str = ""

    @property
    def tier(self) -> Tier:
        return "opt-in" if self.opt_in else "default"

    @property
    def area(self) -> str:
        return AREAS[self.code[2]]

    @property
    def fixable(self) -> bool:
        return self.fix is not None

    @property
    def safe_fix(self) -> bool:
        return self.fix is not None and self.fix_applicability == "safe"

    @property
    def version_condition(self) -> VersionCondition | None:
        return _condition(self.versions) if self.versions else None


# --- Versions and fix safety --------------------------------------------------------------------------------------
# ``Rule.versions`` ("pydantic>=2") names the library versions on which a rule's findings hold; the reviewer compares
# it with the versions the project declares (production_fastapi.review.dependencies) and runs the rule fully, only
# for ``Violation.breaking`` occurrences (a project allowing versions on both sides), or not at all.

_CLAUSE = r"(?:[<>=!~]=?|===)\s*[0-9][0-9A-Za-z.*+!-]*"
_VERSIONS = re.compile(rf"\s*([A-Za-z][A-Za-z0-9_.-]*)\s*({_CLAUSE}(?:\s*,\s*{_CLAUSE})*)\s*")


@dataclass(frozen=True, slots=True)
class VersionCondition:
    """``library`` (a distribution name, normalised) and the PEP 440 ``specifier`` its versions must match."""

    library: str
    specifier: str

    @classmethod
    def parse(cls, text: str) -> VersionCondition | None:
        match = _VERSIONS.fullmatch(text)
        if match is None:
            return None
        return cls(re.sub(r"[-_.]+", "-", match[1]).lower(), re.sub(r"\s+", "", match[2]))

    def __str__(self) -> str:
        return f"{self.library}{self.specifier}"


@functools.cache
def _condition(text: str) -> VersionCondition | None:
    # Asked per rule and file: parsed once per spelling.
    return VersionCondition.parse(text)


_REGISTRY: dict[str, Rule] = {}
_NAMES: dict[str, str] = {}

_F = TypeVar("_F", bound=Callable[..., object])


def _validate(rule: Rule) -> None:
    where = f"rule {rule.code} ({rule.module})"
    if not _CODE.fullmatch(rule.code) or rule.code == "PF000":
        raise RuleError(f"{where}: code must be PF followed by three digits (PF000 is reserved)")
    if not _NAME.fullmatch(rule.name):
        raise RuleError(f"{where}: name {rule.name!r} must be kebab-case")
    if rule.severity not in SEVERITIES:
        raise RuleError(f"{where}: severity must be one of {', '.join(SEVERITIES)}")
    if not rule.message.strip():
        raise RuleError(f"{where}: message is empty")
    docs = rule.docs
    for section in ("what_it_does", "why", "example", "use_instead"):
        if not getattr(docs, section).strip():
            raise RuleError(f"{where}: docs.{section} is empty")
    if rule.fix is not None and not (rule.fix_title and docs.fix_safety.strip()):
        raise RuleError(f"{where}: a fixable rule needs fix_title and docs.fix_safety")
    if (rule.fix is None) != (rule.fix_applicability is None):
        raise RuleError(f"{where}: a fix must declare fix_applicability ('safe' or 'unsafe'), and only a fix may")
    if rule.versions and VersionCondition.parse(rule.versions) is None:
        raise RuleError(f"{where}: versions must be a library and a specifier ('pydantic>=2'), got {rule.versions!r}")
    if rule.fix is not None and not _FIX_REF.fullmatch(rule.fix):
        raise RuleError(f"{where}: fix must be 'package.module:Class', got {rule.fix!r}")
    if rule.kind == "text" and not rule.files:
        raise RuleError(f"{where}: a text rule needs files= (the filename globs it reads)")
    if rule.kind != "text" and rule.files:
        raise RuleError(f"{where}: files= is only for text rules")
    if rule.kind == "text" and rule.fix is not None:
        raise RuleError(f"{where}: text rules cannot carry a libcst fix")
    if "service" not in rule.contexts or not set(rule.contexts) <= set(CONTEXTS):
        raise RuleError(f"{where}: contexts must include 'service' and name only {', '.join(CONTEXTS)}")
    if "\n" in rule.opt_in or len(rule.opt_in) > 160:
        raise RuleError(f"{where}: opt_in is the one-line reason the rule is opt-in")
    if rule.code in _REGISTRY and _REGISTRY[rule.code].module != rule.module:
        raise RuleError(f"{where}: code already used by {_REGISTRY[rule.code].module}")
    if _NAMES.get(rule.name, rule.code) != rule.code:
        raise RuleError(f"{where}: name {rule.name!r} already used by {_NAMES[rule.name]}")


def _register(kind: RuleKind, **meta: object) -> Callable[[_F], _F]:
    def decorator(check: _F) -> _F:
        rule = Rule(kind=kind, check=check, module=check.__module__, **meta)  # type: ignore[arg-type]
        _validate(rule)
        _REGISTRY[rule.code] = rule
        _NAMES[rule.name] = rule.code
        return check

    return decorator


def file_rule(
    *,
    code: str,
    name: str,
    severity: Severity,
    message: str,
    docs: RuleDocs,
    fix_title: str | None = None,
    skill_section: str = "",
    template: str | None = None,
    requires: Iterable[str] = (),
    fix: str | None = None,
    fix_applicability: FixApplicability | None = None,
    versions: str = "",
    contexts: Iterable[Context] = SERVICE_ONLY,
    opt_in: str = "",
) -> Callable[[_F], _F]:
    """Register ``check(ctx: FileContext) -> Iterable[Violation]`` as a rule run once per Python file."""
    return _register(
        "file",
        code=code,
        name=name,
        severity=severity,
        message=message,
        docs=docs,
        fix_title=fix_title,
        skill_section=skill_section,
        template=template,
        requires=tuple(requires),
        fix=fix,
        fix_applicability=fix_applicability,
        versions=versions,
        contexts=tuple(contexts),
        opt_in=opt_in,
    )


def project_rule(
    *,
    code: str,
    name: str,
    severity: Severity,
    message: str,
    docs: RuleDocs,
    fix_title: str | None = None,
    skill_section: str = "",
    template: str | None = None,
    requires: Iterable[str] = (),
    versions: str = "",
    contexts: Iterable[Context] = SERVICE_ONLY,
    opt_in: str = "",
) -> Callable[[_F], _F]:
    """Register ``check(project: ProjectContext) -> Iterable[Violation]`` as a rule run once per project.

    Each yielded violation belongs to the file it was built from: use ``file_ctx.violation(node)`` on the
    :class:`FileContext` where the node lives (the engine reads the path from it). ``requires`` filters which files
    the project sees.
    """
    return _register(
        "project",
        code=code,
        name=name,
        severity=severity,
        message=message,
        docs=docs,
        fix_title=fix_title,
        skill_section=skill_section,
        template=template,
        requires=tuple(requires),
        versions=versions,
        contexts=tuple(contexts),
        opt_in=opt_in,
    )


def text_rule(
    *,
    code: str,
    name: str,
    severity: Severity,
    message: str,
    docs: RuleDocs,
    files: Iterable[str],
    fix_title: str | None = None,
    skill_section: str = "",
    template: str | None = None,
    versions: str = "",
    contexts: Iterable[Context] = LAUNCH_CONTEXTS,
    opt_in: str = "",
) -> Callable[[_F], _F]:
    """Register ``check(ctx: TextContext) -> Iterable[Violation]`` for non-Python files matching ``files`` globs."""
    return _register(
        "text",
        code=code,
        name=name,
        severity=severity,
        message=message,
        docs=docs,
        fix_title=fix_title,
        skill_section=skill_section,
        template=template,
        files=tuple(files),
        versions=versions,
        contexts=tuple(contexts),
        opt_in=opt_in,
    )


def registered_rules() -> dict[str, Rule]:
    """The raw registry (use ``production_fastapi.rules.all_rules()``, which imports the area modules first)."""
    return _REGISTRY
