"""Every rule fixture, reviewed for real: the findings must be exactly the ``# error:`` expectations.

Convention (docs/internals.md, "Rule API"):

- ``fixtures/PFxxx.py`` (or ``PFxxx_<variant>.py``): each line that must be flagged carries ``# error: PFxxx``
  (several codes: ``# error: PF701, PF702``; a column: ``# error: PFxxx col=5``);
- ``fixtures/PFxxx_ok.py`` (or ``PFxxx_ok_<variant>.py``): near misses where the rule must stay silent;
- ``PFxxx.py`` is reviewed as ``app/PFxxx.py``; a name with more after the code is reviewed under that rest
  (``PF003.gunicorn_conf.py`` -> ``gunicorn_conf.py``, ``PF801.Dockerfile`` -> ``Dockerfile``,
  ``PF803_ok.start.sh`` -> ``start.sh``); a first-line ``# review-as: NAME`` overrides both;
- ``fixtures/PFxxx/`` (or ``PFxxx_ok/``, ``PFxxx_<variant>/``): a small project for project-wide rules, with
  expectations in any of its files.

Only codes a fixture is about are compared: its own code plus any code named in an expectation, so a fixture for
one rule is not broken by another rule legitimately firing on the same code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from production_fastapi.review import Config, review_paths, review_source
from production_fastapi.rules import all_rules

FIXTURES = Path(__file__).parent / "fixtures"
_NAME = re.compile(r"(?P<code>PF[0-9]{3})(?P<ok>_ok)?(?:[_.].*)?")
_EXPECT = re.compile(r"#\s*error:\s*(?P<body>.*)$")
_ITEM = re.compile(r"(?P<code>PF[0-9]{3})(?:\s+col=(?P<col>[0-9]+))?")
_REVIEW_AS = re.compile(r"#\s*review-as:\s*(?P<name>\S+)")


@dataclass(frozen=True)
class Expected:
    path: str
    line: int
    code: str
    column: int | None


def _fixtures() -> list[Path]:
    if not FIXTURES.is_dir():
        return []
    return sorted(p for p in FIXTURES.iterdir() if _NAME.fullmatch(p.name) and not p.name.startswith("__"))


def _expectations(path: str, text: str) -> list[Expected]:
    found: list[Expected] = []
    for number, line in enumerate(text.splitlines(), start=1):
        match = _EXPECT.search(line)
        if not match:
            continue
        items = list(_ITEM.finditer(match.group("body")))
        assert items, f"{path}:{number}: '# error:' names no PF code"
        for item in items:
            column = int(item.group("col")) if item.group("col") else None
            found.append(Expected(path, number, item.group("code"), column))
    return found


def _review_as(fixture: Path, text: str) -> str:
    first = text.splitlines()[0] if text else ""
    directive = _REVIEW_AS.search(first)
    if directive:
        return directive.group("name")
    rest = fixture.name.partition(".")[2]
    if "." in rest:  # PF003.gunicorn_conf.py, PF803_ok.start.sh
        return rest
    if rest == "py":
        return f"app/{fixture.name}"
    return rest  # PF801.Dockerfile, PF801_ok.Procfile


def _compare(fixture: Path, code: str, expected: list[Expected], findings: list[tuple[str, int, int, str]]) -> None:
    codes = {code} | {e.code for e in expected}
    actual = {(path, line, found_code) for path, line, _, found_code in findings if found_code in codes}
    wanted = {(e.path, e.line, e.code) for e in expected}
    missing = sorted(wanted - actual)
    unexpected = sorted(actual - wanted)
    problems = f"{fixture.name}: missing findings (path, line, code) {missing}; unexpected findings {unexpected}"
    assert (missing, unexpected) == ([], []), problems
    columns = {(path, line, found_code): column for path, line, column, found_code in findings}
    for e in expected:
        if e.column is not None:
            assert columns[(e.path, e.line, e.code)] == e.column, f"{fixture.name}:{e.line}: {e.code} column"


@pytest.mark.parametrize("fixture", _fixtures(), ids=lambda p: p.name)
def test_fixture(fixture: Path) -> None:
    match = _NAME.fullmatch(fixture.name)
    assert match is not None
    code = match.group("code")
    # A fixture selects the rules it is about, so opt-in rules (issue #12: not in the default set) run too.
    if fixture.is_dir():
        expected: list[Expected] = []
        for file in sorted(fixture.rglob("*")):
            if file.is_file():
                relative = file.relative_to(fixture).as_posix()
                expected += _expectations(relative, file.read_text(encoding="utf-8"))
        chosen = sorted({code} | {e.code for e in expected})
        report = review_paths([fixture], config=Config(root=fixture), extend_select=chosen, cache=False, jobs=1)
        assert not report.errors, report.errors
        findings = [
            (Path(f.path).resolve().relative_to(fixture).as_posix(), f.line, f.column, f.code) for f in report.findings
        ]
    else:
        text = fixture.read_text(encoding="utf-8")
        name = _review_as(fixture, text)
        expected = _expectations(name, text)
        chosen = sorted({code} | {e.code for e in expected})
        reviewed = review_source(text, filename=name, extend_select=chosen)
        findings = [(f.path, f.line, f.column, f.code) for f in reviewed]
    if match.group("ok"):
        assert not [e for e in expected if e.code == code], f"{fixture.name}: an _ok fixture expects no {code}"
    else:
        assert any(e.code == code for e in expected), f"{fixture.name}: expects no {code} at all"
    _compare(fixture, code, expected, findings)


def test_every_rule_has_a_bad_and_an_ok_fixture() -> None:
    names = [p.name for p in _fixtures()]
    missing: list[str] = []
    for rule in all_rules():
        has_bad = any(_NAME.fullmatch(n) and n.startswith(rule.code) and "_ok" not in n for n in names)
        has_ok = any(n.startswith(f"{rule.code}_ok") for n in names)
        if not (has_bad and has_ok):
            missing.append(rule.code)
    assert not missing, f"rules without a PFxxx fixture and a PFxxx_ok fixture: {missing}"


def test_every_fixture_names_a_registered_rule() -> None:
    codes = {rule.code for rule in all_rules()}
    orphans = [p.name for p in _fixtures() if _NAME.fullmatch(p.name) and p.name[:5] not in codes]
    assert not orphans, f"fixtures for codes no rule registers: {orphans}"
