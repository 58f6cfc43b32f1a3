"""Every rule against its fixtures: ``PFxxx.py`` marks each line that must be flagged with ``# error: PFxxx``;
``PFxxx_ok.py`` holds near misses that must stay silent. Text rules read ``PFxxx.<Filename>`` fixtures the same way
(a ``# error: PFxxx`` comment line flags the line after it, since Dockerfiles and Procfiles have no trailing comments).
Each rule's documented Example must trigger it and its Use-instead must not.
"""

from __future__ import annotations

import ast
import re
from collections import Counter
from pathlib import Path

import pytest

from production_fastapi.rules import Rule, all_rules, get_rule
from production_fastapi.rules.base import Violation
from production_fastapi.rules.context import FileContext, ProjectContext, TextContext, module_name_for

FIXTURES = Path(__file__).parent / "fixtures"
_EXPECT = re.compile(r"#\s*error:\s*(PF\d{3}(?:\s*,\s*PF\d{3})*)")
_FIXTURE_NAME = re.compile(r"(PF\d{3})(_ok)?(?:\.(.+))?$")


def run_rule(rule: Rule, source: str, filename: str) -> list[Violation]:
    """Run one rule's check the way the engine does, honouring its ``requires`` gate."""
    if rule.kind == "text":
        return list(rule.check(TextContext(filename, source)))
    ctx = FileContext(filename, source, ast.parse(source), module=module_name_for(filename))
    if rule.requires and not ctx.imports(*rule.requires):
        return []
    if rule.kind == "file":
        return list(rule.check(ctx))
    return list(rule.check(ProjectContext([ctx])))


def expected_lines(source: str, *, text: bool) -> Counter[tuple[int, str]]:
    expected: Counter[tuple[int, str]] = Counter()
    for number, line in enumerate(source.splitlines(), start=1):
        match = _EXPECT.search(line)
        if not match:
            continue
        # In text files the marker is a comment line of its own, describing the line after it.
        target = number + 1 if text and line.lstrip().startswith("#") else number
        for code in re.split(r"\s*,\s*", match.group(1)):
            expected[(target, code)] += 1
    return expected


def _parse_name(path: Path) -> tuple[str, bool, str]:
    """(code, is_ok, filename the engine would see)."""
    name = path.name
    match = _FIXTURE_NAME.match(name)
    assert match, name
    code, ok, rest = match.group(1), bool(match.group(2)), match.group(3)
    filename = rest if rest and rest != "py" else f"app/{code.lower()}.py"
    return code, ok, filename


FIXTURE_FILES = [p for p in sorted(FIXTURES.iterdir()) if p.is_file() and re.match(r"PF\d{3}", p.name)]


@pytest.mark.parametrize("path", FIXTURE_FILES, ids=[p.name for p in FIXTURE_FILES])
def test_fixture(path: Path) -> None:
    code, ok, filename = _parse_name(path)
    rule = get_rule(code)
    source = path.read_text(encoding="utf-8")
    found = Counter((v.line, code) for v in run_rule(rule, source, filename))
    expected = expected_lines(source, text=rule.kind == "text")
    if ok:
        assert not expected, f"{path.name} is a near-miss fixture and must not carry expectations"
        assert not found, f"{code} fired on near misses in {path.name} at lines {sorted(line for line, _ in found)}"
    else:
        assert expected, f"{path.name} has no '# error: {code}' expectation"
        missing = expected - found
        extra = found - expected
        assert not missing, f"{path.name}: not flagged {sorted(missing)}"
        assert not extra, f"{path.name}: flagged but not expected {sorted(extra)}"


RULES = all_rules()


@pytest.mark.parametrize("rule", RULES, ids=[r.code for r in RULES])
def test_rule_has_fixtures(rule: Rule) -> None:
    names = {p.name for p in FIXTURE_FILES}
    assert any(n.startswith(rule.code) and "_ok" not in n for n in names), f"{rule.code} has no bad fixture"
    assert any(n.startswith(f"{rule.code}_ok") for n in names), f"{rule.code} has no near-miss fixture"


@pytest.mark.parametrize("rule", RULES, ids=[r.code for r in RULES])
def test_docs_example_triggers_and_use_instead_does_not(rule: Rule) -> None:
    filename = rule.docs.example_filename
    assert run_rule(rule, rule.docs.example, filename), f"{rule.code}: its Example does not trigger it"
    silent = run_rule(rule, rule.docs.use_instead, filename)
    assert not silent, f"{rule.code}: its Use-instead triggers it at lines {[v.line for v in silent]}"
    for source in (rule.docs.example, rule.docs.use_instead):
        if rule.kind != "text":
            ast.parse(source)


@pytest.mark.parametrize("rule", RULES, ids=[r.code for r in RULES])
def test_metadata_points_somewhere(rule: Rule) -> None:
    assert rule.skill_section, f"{rule.code} names no SKILL.md section"
    assert not rule.message.endswith("."), f"{rule.code}: messages carry no trailing period"
    if rule.fix_title is not None:
        assert rule.fix_title[0].isupper(), f"{rule.code}: a fix title is an action (capitalised imperative)"
