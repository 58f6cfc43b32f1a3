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


# Shapes that real code has and fixtures rarely do: every rule must take them without raising.
ODD_SHAPES = '''\
from __future__ import annotations
import asyncio, time
from fastapi import APIRouter, Depends, FastAPI, HTTPException
from pydantic import BaseModel, Field
from pydantic_settings import BaseSettings

app = FastAPI(*[], **{})
router = APIRouter(prefix=PREFIX)
app.include_router(*routers)
app.mount("/x", app=make_app())
app.add_middleware()
app.add_exception_handler()
handlers = {**base}
limiter = None


@app.get(f"/{name}")
@router.api_route(path="/r", methods=["GET", "POST"])
@(lambda f: f)
async def odd(x: "Model | None" = None, *args: int, y: int = Depends(), **kwargs: str) -> "list[Model]":
    match x:
        case {"a": 1, **rest}:
            pass
        case [first, *others]:
            pass
    if (n := len(args)) > 1:
        time.sleep
    async with asyncio.timeout(1), (await get())() as conn:
        await conn
    try:
        raise HTTPException(*args)
    except* ValueError as group:
        pass
    return [y for y in (await z for z in ())]


class Model(BaseModel, metaclass=Meta):
    a: int = Field(*defaults)
    b: "list[str]"
    class Config: ...


class S(BaseSettings):
    secret_key: "SecretStr | str" = Field(default_factory=lambda: "x")
    items: list[str] | None = None
'''


@pytest.mark.parametrize("rule", RULES, ids=[r.code for r in RULES])
def test_rule_takes_odd_shapes_without_raising(rule: Rule) -> None:
    filename = "Dockerfile" if rule.kind == "text" else "app/odd.py"
    run_rule(rule, ODD_SHAPES, filename)
    run_rule(rule, "", filename)


def test_odd_shapes_through_review_and_fix() -> None:
    from production_fastapi.review import fix_source, review_source

    review_source(ODD_SHAPES, filename="app/odd.py")
    fixed, _ = fix_source(ODD_SHAPES, filename="app/odd.py")
    ast.parse(fixed)
