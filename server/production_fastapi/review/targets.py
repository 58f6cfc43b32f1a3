"""Which library versions a project targets, and what that means for a rule that holds only on some of them.

A project's targets are, per library, the ranges of versions its declarations allow (see
:mod:`production_fastapi.review.dependencies`, which reads them). A rule's ``versions`` condition
(``"pydantic>=2"``) is compared with them:

- ``"full"``: every version the project allows meets the condition (or the project says nothing about the library:
  then the current release is assumed, today's behaviour): the rule runs as written;
- ``"compat"``: the project allows versions on both sides (``pydantic>=1.10,<3``): it is compatibility code, so the
  rule reports only occurrences that break on the versions it targets (``Violation.breaking``) and offers no unsafe
  fix;
- ``"off"``: no allowed version meets it (``pydantic~=1.10`` for a v2 rule): the rule says nothing.

``packaging`` is imported only when a declared range is judged: the reviewer's modules load without it.
Ranges are compared by probing: every version either side names, and its neighbours, is tested against both, which
is exact for the unions of intervals PEP 440 specifiers describe, without a catalogue of releases.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Literal

from production_fastapi.rules.base import VersionCondition

if TYPE_CHECKING:
    from packaging.specifiers import SpecifierSet
    from packaging.version import Version

__all__ = ["Coverage", "Targets", "coverage", "describe"]

#: ``((library, "spec || spec"), ...)``, sorted: plain data, so it pickles to workers and hashes into cache keys.
#: Alternatives (``||``) come from requirements guarded by environment markers, or Poetry's ``||``.
Targets = tuple[tuple[str, str], ...]
Coverage = Literal["full", "compat", "off"]


def _alternatives(text: str) -> list[SpecifierSet]:
    from packaging.specifiers import InvalidSpecifier, SpecifierSet

    sets: list[SpecifierSet] = []
    for part in text.split("||"):
        try:
            sets.append(SpecifierSet(part.strip()))
        except InvalidSpecifier:
            continue
    return sets


def _probes(sets: list[SpecifierSet]) -> list[Version]:
    """Versions at and around every bound the specifiers name: enough to find any interval they describe."""
    from packaging.version import InvalidVersion, Version

    found: set[Version] = {Version("0"), Version("99999")}
    for specifiers in sets:
        for spec in specifiers:
            text = spec.version.removesuffix(".*")
            try:
                version = Version(text)
            except InvalidVersion:
                continue
            release = list(version.release)
            found.add(Version(".".join(map(str, release))))
            for index in range(len(release)):
                up = release[: index + 1]
                up[-1] += 1
                found.add(Version(".".join(map(str, up))))
                if up[-1] >= 2:
                    found.add(Version(".".join(map(str, [*up[:-1], up[-1] - 2, 99999]))))
            found.add(Version(".".join(map(str, [*release, 1]))))
            if release[-1] > 0:
                found.add(Version(".".join(map(str, [*release[:-1], release[-1] - 1, 99999]))))
    return sorted(found)


@functools.lru_cache(maxsize=1024)
def coverage(targets: Targets, condition: VersionCondition | None) -> Coverage:
    """How much of the project's range of ``condition.library`` meets ``condition`` (see the module docstring)."""
    if condition is None:
        return "full"
    declared = dict(targets).get(condition.library)
    if not declared:
        return "full"
    from packaging.specifiers import SpecifierSet

    allowed = _alternatives(declared)
    if not allowed:
        return "full"
    wanted = SpecifierSet(condition.specifier)
    inside = outside = False
    for version in _probes([*allowed, wanted]):
        if any(version in specifiers for specifiers in allowed):
            if version in wanted:
                inside = True
            else:
                outside = True
    if not inside and not outside:
        return "full"  # a range nothing satisfies (contradictory pins): judge as if undeclared
    return "full" if not outside else ("compat" if inside else "off")


def describe(targets: Targets, library: str) -> str:
    """``pydantic<2,>=1.10`` as the project declares it, for messages; empty when undeclared."""
    declared = dict(targets).get(library, "")
    return " or ".join(f"{library}{part.strip()}" for part in declared.split("||")) if declared else ""
