"""docs/rules.md is generated from the rules and must be current; each rule's documented Example and Use-instead
behave as documented when reviewed through the public API (files on disk, a complete project, config and all)."""

from __future__ import annotations

from pathlib import Path

import pytest

from production_fastapi.review import Config, review_paths
from production_fastapi.rules import Rule, all_rules
from production_fastapi.rules.docs import DEFAULT_OUTPUT, anchor, main, render_catalog

RULES = all_rules()
SECTIONS = ("**What it does.**", "**Why it matters in production.**", "**Example**", "**Use instead**")


def test_docs_page_is_current() -> None:
    assert DEFAULT_OUTPUT.read_text(encoding="utf-8") == render_catalog(), (
        "docs/rules.md is stale: run `python -m production_fastapi.rules.docs`"
    )
    assert main(["--check"]) == 0


def test_check_mode_reports_a_stale_page(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    stale = tmp_path / "rules.md"
    stale.write_text("# Rules\n")
    assert main(["--check", "--output", str(stale)]) == 1
    assert "is stale" in capsys.readouterr().err
    assert main(["--output", str(stale)]) == 0
    assert stale.read_text() == render_catalog()


@pytest.mark.parametrize("rule", RULES, ids=[r.code for r in RULES])
def test_every_rule_is_documented_in_every_section(rule: Rule) -> None:
    page = render_catalog()
    start = page.index(f"### {rule.code} {rule.name}\n")
    end = page.find("\n### ", start + 1)
    section = page[start : end if end != -1 else len(page)]
    for heading in SECTIONS:
        assert heading in section, f"{rule.code}: no {heading} section"
    if rule.fixable:
        assert "**Fix safety.**" in section
    assert f"](#{anchor(rule)})" in page


def _review(tmp_path: Path, rule: Rule, source: str) -> list[tuple[str, int]]:
    target = tmp_path / rule.docs.example_filename
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(source, encoding="utf-8")
    report = review_paths([tmp_path], config=Config(root=tmp_path), select=[rule.code], cache=False, jobs=1)
    assert report.errors == []
    return [(f.code, f.line) for f in report.findings]


@pytest.mark.parametrize("rule", RULES, ids=[r.code for r in RULES])
def test_example_triggers_and_use_instead_does_not_end_to_end(rule: Rule, tmp_path: Path) -> None:
    bad = _review(tmp_path / "example", rule, rule.docs.example)
    assert any(code == rule.code for code, _ in bad), f"{rule.code}: its Example does not trigger it"
    good = _review(tmp_path / "use_instead", rule, rule.docs.use_instead)
    assert good == [], f"{rule.code}: its Use-instead triggers {good}"
