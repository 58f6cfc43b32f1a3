"""Suppression comments: ``# noqa``, ``# noqa: PF101,PF102`` on a line, ``# production-fastapi: noqa`` for a file.

Codes of other tools may share the comment (``# noqa: E501, PF702``); only ours matter here. Ruff users add
``lint.external = ["PF"]`` so ruff keeps our codes instead of reporting them as unknown.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["ALL", "Suppressions", "parse_suppressions"]

#: Marker for "every code": the directive with no code list.
#: (Comments here avoid spelling the directive itself: ruff would parse it as its own and warn.)
ALL: frozenset[str] = frozenset({"*"})

_LINE = re.compile(r"#\s*noqa(?::\s*(?P<codes>[A-Z]+[0-9]+(?:[\s,]+[A-Z]+[0-9]+)*))?", re.IGNORECASE)
_FILE = re.compile(
    r"#\s*production-fastapi\s*:\s*noqa(?::\s*(?P<codes>[A-Z]+[0-9]+(?:[\s,]+[A-Z]+[0-9]+)*))?", re.IGNORECASE
)
_CODE = re.compile(r"[A-Z]+[0-9]+", re.IGNORECASE)


def _codes(group: str | None) -> frozenset[str]:
    if not group:
        return ALL
    return frozenset(code.upper() for code in _CODE.findall(group))


@dataclass(frozen=True, slots=True)
class Suppressions:
    """What the comments of one file suppress: per line, and for the whole file."""

    lines: dict[int, frozenset[str]]
    file: frozenset[str]

    def suppresses(self, code: str, line: int, end_line: int | None = None) -> bool:
        if self._matches(self.file, code):
            return True
        if self._matches(self.lines.get(line, frozenset()), code):
            return True
        # A finding spanning lines (a call split over several) can also be silenced where it ends.
        return end_line is not None and end_line != line and self._matches(self.lines.get(end_line, frozenset()), code)

    @staticmethod
    def _matches(codes: frozenset[str], code: str) -> bool:
        return codes is ALL or "*" in codes or code in codes


def parse_suppressions(text: str) -> Suppressions:
    """Scan the comments of a file. A plain text scan: fast, and the same for Python and for Dockerfiles."""
    lines: dict[int, frozenset[str]] = {}
    file_codes: set[str] = set()
    file_all = False
    # The directive is case-insensitive (``NoQA`` counts): the common spellings first, then the lowered text.
    if "noqa" not in text and "NOQA" not in text and "noqa" not in text.lower():
        return Suppressions({}, frozenset())
    for number, line in enumerate(text.splitlines(), start=1):
        if "#" not in line:
            continue
        lowered = line.lower()
        if "noqa" not in lowered:
            continue
        file_match = _FILE.search(line)
        if file_match:
            codes = _codes(file_match.group("codes"))
            if codes is ALL:
                file_all = True
            else:
                file_codes.update(codes)
            continue
        match = _LINE.search(line)
        if match:
            lines[number] = _codes(match.group("codes"))
    return Suppressions(lines, ALL if file_all else frozenset(file_codes))
