"""The rule catalog: ``all_rules()`` and ``get_rule(code)``.

Rules register themselves when their area module is imported (see ``rules/base.py``); this package imports every
area module on first use. Area modules are named after SKILL.md's sections (``AREA_MODULES``).
"""

from __future__ import annotations

import hashlib
import importlib
from functools import cache
from pathlib import Path

from production_fastapi import __version__
from production_fastapi.rules.base import (
    AREAS,
    SEVERITIES,
    Rule,
    RuleDocs,
    RuleError,
    Severity,
    Violation,
    file_rule,
    project_rule,
    registered_rules,
    text_rule,
)

__all__ = [
    "AREAS",
    "AREA_MODULES",
    "SEVERITIES",
    "Rule",
    "RuleDocs",
    "RuleError",
    "Severity",
    "Violation",
    "all_rules",
    "file_rule",
    "get_rule",
    "project_rule",
    "ruleset_version",
    "text_rule",
]

#: One module per area, in code order. Every one must import: a missing module is a packaging bug, not a smaller
#: catalog, so it raises.
AREA_MODULES: tuple[str, ...] = (
    "security",
    "lifecycle",
    "logging",
    "health",
    "errors",
    "middleware",
    "pydantic",
    "async_rules",
    "deployment",
    "rate_limiting",
)


@cache
def _load() -> dict[str, Rule]:
    for name in AREA_MODULES:
        importlib.import_module(f"{__name__}.{name}")
    return dict(sorted(registered_rules().items()))


def all_rules() -> list[Rule]:
    """Every rule, sorted by code."""
    return list(_load().values())


def get_rule(code: str) -> Rule:
    """The rule with this code (``PF702``) or name (``blocking-sleep-in-async``); KeyError when none."""
    rules = _load()
    key = code.strip()
    if key.upper() in rules:
        return rules[key.upper()]
    for rule in rules.values():
        if rule.name == key:
            return rule
    raise KeyError(f"no rule named {code!r}")


@cache
def ruleset_version() -> str:
    """A fingerprint of the rules' code and the package version: part of every cache key.

    Hashing the rule modules' sources (not just a version number) means editing a rule during development
    invalidates cached results without anyone remembering to bump anything.
    """
    digest = hashlib.sha256(__version__.encode())
    for path in sorted(Path(__file__).parent.glob("*.py")):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]
