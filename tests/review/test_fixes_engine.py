"""The fix machinery: targeted, idempotent, loops to a fixed point, never writes broken code, preserves files."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import libcst as cst
import pytest

from production_fastapi.review import Config, fix_source, review_paths
from production_fastapi.review.fixing import fix_loop
from production_fastapi.rules.base import Rule, RuleDocs, Violation
from production_fastapi.rules.context import FileContext
from production_fastapi.rules.fixes import FixError, FixTransformer, apply_rule_fixes

BEFORE = """\
import time

from fastapi import FastAPI

app = FastAPI()


@app.get("/poll")
async def poll() -> dict[str, str]:
    # wait for the queue
    time.sleep(0.5)  # trailing comment stays
    time.sleep(1)  # noqa: PF702
    return {"status": "ok"}


def sync_job() -> None:
    time.sleep(2)
"""

AFTER = """\
import time

from fastapi import FastAPI
import asyncio

app = FastAPI()


@app.get("/poll")
async def poll() -> dict[str, str]:
    # wait for the queue
    await asyncio.sleep(0.5)  # trailing comment stays
    time.sleep(1)  # noqa: PF702
    return {"status": "ok"}


def sync_job() -> None:
    time.sleep(2)
"""


def test_fix_is_targeted_format_preserving_and_respects_noqa() -> None:
    fixed, remaining = fix_source(BEFORE, select=["PF702"], unsafe_fixes=True)
    assert fixed == AFTER
    assert remaining == []


def test_fix_is_idempotent() -> None:
    once, _ = fix_source(BEFORE, select=["PF702"], unsafe_fixes=True)
    twice, _ = fix_source(once, select=["PF702"], unsafe_fixes=True)
    assert twice == once


def test_no_op_when_nothing_is_fixable() -> None:
    clean = "import asyncio\n\n\nasync def f() -> None:\n    await asyncio.sleep(1)\n"
    assert fix_source(clean, select=["PF702"], unsafe_fixes=True) == (clean, [])
    value = "import time\n\n\nasync def f() -> None:\n    x = time.sleep(1)\n"
    fixed, remaining = fix_source(value, select=["PF702"], unsafe_fixes=True)
    assert fixed == value
    assert [(f.code, f.fixable) for f in remaining] == [("PF702", False)]


def test_unused_import_is_removed_and_alias_calls_fixed() -> None:
    source = "from time import sleep as nap\n\n\nasync def f() -> None:\n    nap(1)\n"
    fixed, remaining = fix_source(source, select=["PF702"], unsafe_fixes=True)
    assert remaining == []
    assert "nap" not in fixed
    assert "await asyncio.sleep(1)" in fixed
    ast.parse(fixed)


# --- engine behaviour with test-only fixes --------------------------------------------------------------------------

DOCS = RuleDocs("x", "y", "a = 1\n", "b = 1\n", "safe in tests")


class RenameOneStep(FixTransformer):
    """Before: ``step1()``. After: ``step2()``; a second rule turns ``step2()`` into ``done()``: two rounds."""

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.Call:
        if isinstance(original_node.func, cst.Name) and self.is_target(original_node):
            following = {"step1": "step2", "step2": "done"}[original_node.func.value]
            return updated_node.with_changes(func=cst.Name(following))
        return updated_node


class BreaksTheCode(FixTransformer):
    """Produces a ``return`` at module level: the engine must refuse to write it."""

    def leave_Module(self, original_node: cst.Module, updated_node: cst.Module) -> cst.Module:
        statement = cst.SimpleStatementLine([cst.Return(cst.Integer("1"))])
        return updated_node.with_changes(body=[*updated_node.body, statement])


def _flag(name: str) -> object:
    def check(ctx: FileContext) -> Iterator[Violation]:
        for call in ctx.nodes(ast.Call):
            if isinstance(call.func, ast.Name) and call.func.id == name:
                yield ctx.violation(call)

    return check


def _rule(code: str, check: object, fix: str, applicability: str = "safe") -> Rule:
    return Rule(
        code=code,
        name=f"fix-test-{code.lower()}",
        severity="warning",
        message="m",
        docs=DOCS,
        kind="file",
        check=check,  # type: ignore[arg-type]
        fix_title="t",
        fix=fix,
        fix_applicability=applicability,  # type: ignore[arg-type]
    )


def test_fix_loop_reaches_a_fixed_point_across_rules() -> None:
    rules = [
        _rule("PF981", _flag("step1"), f"{__name__}:RenameOneStep"),
        _rule("PF982", _flag("step2"), f"{__name__}:RenameOneStep"),
    ]
    result = fix_loop("app/x.py", "step1()\nstep2()\n", rules)
    assert result.source == "done()\ndone()\n"
    assert (result.remaining, result.fixed, result.errors) == ([], 2, [])


def test_a_fix_that_breaks_the_code_is_refused() -> None:
    rule = _rule("PF983", _flag("boom"), f"{__name__}:BreaksTheCode")
    result = fix_loop("app/x.py", "boom()\n", [rule])
    assert result.source == "boom()\n"
    assert len(result.errors) == 1
    assert "produced invalid code" in result.errors[0]
    with pytest.raises(FixError, match="produced invalid code"):
        apply_rule_fixes("boom()\n", [(rule, [Violation(1, 1, 1, 7)])])


def test_unsafe_fixes_are_not_applied() -> None:
    rule = _rule("PF984", _flag("step1"), f"{__name__}:RenameOneStep", applicability="unsafe")
    result = fix_loop("app/x.py", "step1()\n", [rule])
    assert result.source == "step1()\n"
    assert [(f.fixable, f.fix_applicability) for f in result.remaining] == [(True, "unsafe")]
    assert fix_loop("app/x.py", "step1()\n", [rule], unsafe_fixes=True).source == "step2()\n"


def test_a_missing_fix_class_is_a_clear_error() -> None:
    rule = _rule("PF985", _flag("x"), f"{__name__}:NoSuchFix")
    with pytest.raises(FixError, match="cannot load fix"):
        apply_rule_fixes("x()\n", [(rule, [Violation(1, 1, 1, 4)])])


# --- files: --fix and --diff ------------------------------------------------------------------------------------------


def test_fix_writes_files_keeping_crlf_and_encoding(tmp_path: Path) -> None:
    target = tmp_path / "app.py"
    original = (
        "# -*- coding: latin-1 -*-\r\nimport time\r\n\r\n\r\n"
        "async def f() -> None:\r\n    s = 'caf\xe9'\r\n    time.sleep(1)\r\n"
    )
    target.write_bytes(original.encode("latin-1"))
    target.chmod(0o754)
    report = review_paths(
        [target], config=Config(root=tmp_path), select=["PF702"], cache=False, jobs=1, fix=True, unsafe_fixes=True
    )
    assert (report.fixed, report.findings, report.errors) == (1, [], [])
    written = target.read_bytes()
    assert target.stat().st_mode & 0o777 == 0o754
    assert b"\r\n    await asyncio.sleep(1)\r\n" in written
    assert b"caf\xe9" in written
    assert b"\n" not in written.replace(b"\r\n", b"")


def test_diff_shows_changes_without_writing(tmp_path: Path) -> None:
    target = tmp_path / "app.py"
    target.write_text(BEFORE, encoding="utf-8")
    report = review_paths(
        [target], config=Config(root=tmp_path), select=["PF702"], cache=False, jobs=1, diff=True, unsafe_fixes=True
    )
    assert target.read_text(encoding="utf-8") == BEFORE
    (changed,) = report.changed
    diff = report.diffs[changed]
    assert "-    time.sleep(0.5)  # trailing comment stays" in diff
    assert "+    await asyncio.sleep(0.5)  # trailing comment stays" in diff
    assert report.fixed == 0
