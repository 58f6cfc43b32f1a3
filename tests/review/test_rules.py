"""Rule metadata and the corners the line-level fixtures can't express.

(Fixtures run in ``test_fixtures.py``; each rule's Example/Use-instead run end to end in ``test_docs.py``.)

Checks run the way the engine runs them (``requires`` gate included) but directly, so a failure names the rule.
"""

from __future__ import annotations

import ast
import re
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


RULES = all_rules()


REPO = Path(__file__).resolve().parents[2]
SKILL_SECTIONS = set(re.findall(r"^## \d+\. (.+)$", (REPO / "SKILL.md").read_text(encoding="utf-8"), re.MULTILINE))


@pytest.mark.parametrize("rule", RULES, ids=[r.code for r in RULES])
def test_metadata_points_somewhere(rule: Rule) -> None:
    assert rule.skill_section in SKILL_SECTIONS, f"{rule.code}: no SKILL.md section '## N. {rule.skill_section}'"
    if rule.template is not None:
        assert (REPO / "templates" / rule.template).is_file(), f"{rule.code}: templates/{rule.template} is missing"
    assert not rule.message.endswith("."), f"{rule.code}: messages carry no trailing period"
    if rule.fix_title is not None:
        assert rule.fix_title[0].isupper(), f"{rule.code}: a fix title is an action (capitalised imperative)"


def test_command_rules_read_continued_lines_and_report_the_first() -> None:
    script = (
        "#!/usr/bin/env sh\n"
        "set -eu\n"
        "alembic upgrade head && exec python -m uvicorn app.main:app \\\n"
        "  --host 0.0.0.0 \\\n"
        "  --port 8000\n"
    )
    found = run_rule(get_rule("PF808"), script, "start.sh")
    assert [v.line for v in found] == [3]
    bounded = script.replace("--port 8000", "--port 8000 --timeout-graceful-shutdown 20")
    assert run_rule(get_rule("PF808"), bounded, "start.sh") == []
