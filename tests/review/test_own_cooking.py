"""The project eats its own cooking: SKILL.md's Python blocks and every file in templates/ review clean.

SKILL.md blocks are reviewed one by one as files of an app (project-wide rules stay silent on a fragment); the
templates are reviewed as one project, Dockerfile included, with every rule at every severity.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from production_fastapi.review import Config, review_paths, review_source

REPO = Path(__file__).resolve().parents[2]
SKILL = REPO / "SKILL.md"
TEMPLATES = REPO / "templates"
_BLOCK = re.compile(r"^```python\n(.*?)^```", re.MULTILINE | re.DOTALL)


def _skill_blocks() -> list[tuple[int, str]]:
    text = SKILL.read_text(encoding="utf-8")
    return [(text.count("\n", 0, m.start()) + 2, m.group(1)) for m in _BLOCK.finditer(text)]


BLOCKS = _skill_blocks()


def test_skill_has_python_blocks() -> None:
    assert BLOCKS, "SKILL.md has no ```python blocks to check"


@pytest.mark.parametrize(("line", "block"), BLOCKS, ids=[f"SKILL.md:{line}" for line, _ in BLOCKS])
def test_skill_block_reviews_clean(line: int, block: str) -> None:
    ast.parse(block)  # a block that doesn't parse would only show up as PF000 below
    findings = review_source(block, filename=f"app/skill_block_{line}.py")
    shown = [f"SKILL.md:{line + f.line - 1}: {f.code} {f.message}" for f in findings]
    assert not shown, "\n".join(shown)


def test_templates_review_clean_as_a_project() -> None:
    report = review_paths([TEMPLATES], config=Config(root=TEMPLATES), cache=False, jobs=1)
    assert not report.errors, report.errors
    assert report.files_checked >= len([p for p in TEMPLATES.iterdir() if p.suffix == ".py"])
    shown = [f"{f.path}:{f.line}:{f.column}: {f.code} {f.message}" for f in report.findings]
    assert not shown, "\n".join(shown)
