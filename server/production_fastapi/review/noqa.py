"""Suppression comments: ``# noqa``, ``# noqa: PF101,PF102`` on a line, ``# production-fastapi: noqa`` for a file.

In Python only real comments count: a ``# noqa`` inside a string or docstring is text, not a directive (a file
could otherwise hide its own findings by carrying the marker in a string). Comments are found by a scan that
skips string literals the way the tokenizer does, run only on files that mention noqa at all.

Codes of other tools may share the comment (``# noqa: E501, PF702``); only ours matter here. Ruff users add
``lint.external = ["PF"]`` so ruff keeps our codes instead of reporting them as unknown.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["ALL", "EQUIVALENT", "Suppressions", "parse_suppressions"]

#: Marker for "every code": a bare noqa comment, with no codes after it.
ALL: frozenset[str] = frozenset({"*"})

_LINE = re.compile(r"#\s*noqa(?::\s*(?P<codes>[A-Z]+[0-9]+(?:[\s,]+[A-Z]+[0-9]+)*))?", re.IGNORECASE)
_FILE = re.compile(
    r"#\s*production-fastapi\s*:\s*noqa(?::\s*(?P<codes>[A-Z]+[0-9]+(?:[\s,]+[A-Z]+[0-9]+)*))?", re.IGNORECASE
)
_CODE = re.compile(r"[A-Z]+[0-9]+", re.IGNORECASE)
#: bandit's own directive: ``# nosec`` (every bandit check on the line) or ``# nosec B113, B608``.
_NOSEC = re.compile(r"#\s*nosec\b(?::?\s*(?P<codes>B[0-9]+(?:[\s,]+B[0-9]+)*))?", re.IGNORECASE)
_DIRECTIVES = re.compile(r"noqa|nosec", re.IGNORECASE)
#: The bandit checks that have a twin here (see EQUIVALENT): what a bare ``# nosec`` silences of ours.
_BANDIT_TWINS = frozenset({"B113", "B608"})


def _codes(group: str | None) -> frozenset[str]:
    if not group:
        return ALL
    return frozenset(code.upper() for code in _CODE.findall(group))


#: Codes of other linters that name the same defect as one of ours. A maintainer who silenced ruff's,
#: flake8-async's or bandit's check on a line decided that question already; reporting ours there repeats what they
#: overruled.
EQUIVALENT: dict[str, frozenset[str]] = {
    "PF001": frozenset({"S608", "B608"}),
    "PF201": frozenset({"T201"}),
    "PF701": frozenset({"ASYNC210", "ASYNC212"}),
    "PF702": frozenset({"ASYNC251"}),
    "PF703": frozenset({"ASYNC230"}),
    "PF704": frozenset({"ASYNC220", "ASYNC221", "ASYNC222"}),
    "PF706": frozenset({"S113", "B113"}),
    "PF707": frozenset({"RUF006"}),
}


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
        if codes is ALL or "*" in codes or code in codes:
            return True
        twins = EQUIVALENT.get(code)
        return twins is not None and not twins.isdisjoint(codes)


#: What the tokenizer sees in Python text, reduced to what matters here: comments, and string literals to skip (a
#: quote inside a comment, or a hash inside a string, is never taken for the other). Quote characters only: a
#: prefix (``rb``, ``f``) changes nothing about where a literal ends, and raw strings also escape their quote.
_PYTHON_SCAN = re.compile(
    r"(?P<comment>#[^\r\n]*)"
    r'|"""(?:\\.|[^\\])*?"""'
    r"|'''(?:\\.|[^\\])*?'''"
    r'|"(?:\\.|[^"\\\r\n])*"'
    r"|'(?:\\.|[^'\\\r\n])*'",
    re.DOTALL,
)


def _python_comments(text: str) -> list[tuple[int, str]]:
    """(line number, comment text) of every comment mentioning noqa or nosec; string literals skipped."""
    found: list[tuple[int, str]] = []
    line = 1
    position = 0
    for match in _PYTHON_SCAN.finditer(text):
        comment = match.group("comment")
        if comment is None or not _DIRECTIVES.search(comment):
            continue
        line += text.count("\n", position, match.start())
        position = match.start()
        found.append((line, comment))
    return found


def parse_suppressions(text: str, *, python: bool = False) -> Suppressions:
    """Scan the comments of a file: Python comments as the tokenizer finds them (``python``), else every line of a
    Dockerfile or config (where ``#`` starts a comment wherever the text rules look)."""
    lines: dict[int, frozenset[str]] = {}
    file_codes: set[str] = set()
    file_all = False
    # Both directives are case-insensitive (NoQA, NOSEC too); most files hold neither and stop here.
    if not _DIRECTIVES.search(text):
        return Suppressions({}, frozenset())
    candidates: list[tuple[int, str]]
    if python:
        candidates = _python_comments(text)
    else:
        candidates = [(n, line) for n, line in enumerate(text.splitlines(), start=1) if "#" in line]
    for number, line in candidates:
        nosec = _NOSEC.search(line)
        if nosec:
            group = nosec.group("codes")
            lines[number] = lines.get(number, frozenset()) | (_codes(group) if group else _BANDIT_TWINS)
        if "noqa" not in line.lower():
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
            codes = _codes(match.group("codes"))
            lines[number] = codes if codes is ALL else lines.get(number, frozenset()) | codes
    return Suppressions(lines, ALL if file_all else frozenset(file_codes))
