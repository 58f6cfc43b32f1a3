"""The templates as a package: header convention, imports limited to their own dependencies, ruff and mypy strict."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from helpers import REPO, TEMPLATES
from tpl_support import isolated_logging, tpl  # noqa: F401 - isolated_logging is an autouse fixture

PYTHON_TEMPLATES = sorted(p for p in TEMPLATES.glob("*.py") if p.name != "__init__.py")
OTHER_TEMPLATES = [TEMPLATES / "Dockerfile", TEMPLATES / ".dockerignore"]
# What the templates need at runtime, by import name; each must be covered by pyproject's `templates` extra.
THIRD_PARTY = {
    "fastapi": "fastapi",
    "starlette": "starlette",
    "pydantic": "pydantic",
    "pydantic_settings": "pydantic-settings",
    "structlog": "structlog",
    "limits": "limits",
    "sqlalchemy": "sqlalchemy",
    "redis": "redis",
    "httpx": "httpx",
    "uvicorn": "uvicorn",
}


def header_of(path: Path) -> str:
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".py":
        return ast.get_docstring(ast.parse(text)) or ""
    lines = []
    for line in text.splitlines():
        if not line.startswith("#"):
            break
        lines.append(line.lstrip("#").strip())
    return "\n".join(lines)


@pytest.mark.parametrize("path", PYTHON_TEMPLATES + OTHER_TEMPLATES, ids=lambda p: p.name)
def test_header_convention(path: Path) -> None:
    header = header_of(path)
    paragraphs = [p.strip() for p in header.split("\n\n") if p.strip()]
    assert paragraphs, f"{path.name} has no header"
    purpose = paragraphs[0].replace("\n", " ")
    assert purpose.endswith("."), f"{path.name}: the purpose should be one full sentence"
    assert purpose.count(". ") == 0, f"{path.name}: the purpose should be one sentence, got {purpose!r}"
    rules = [p for p in paragraphs if p.startswith("Rules:")]
    assert len(rules) == 1, f"{path.name} needs exactly one 'Rules: PFxxx, ...' line"
    assert re.fullmatch(r"Rules: PF\d{3}(, PF\d{3})*", rules[0]), rules[0]
    assert any(p.startswith("Adopt:") for p in paragraphs), f"{path.name} needs an 'Adopt:' paragraph"


@pytest.mark.parametrize("path", PYTHON_TEMPLATES, ids=lambda p: p.name)
def test_imports_only_its_own_dependencies_and_siblings(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    siblings = {p.stem for p in PYTHON_TEMPLATES}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level:
            assert node.level == 1, f"{path.name}: relative import beyond the package"
            assert node.module in siblings, f"{path.name}: relative import of unknown module {node.module}"
            continue
        names = [alias.name for alias in node.names] if isinstance(node, ast.Import) else []
        if isinstance(node, ast.ImportFrom):
            names = [node.module or ""]
        for name in names:
            top = name.split(".")[0]
            assert top in sys.stdlib_module_names or top in THIRD_PARTY, f"{path.name} imports {name}"


def test_runtime_dependencies_are_in_the_templates_extra() -> None:
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    extra = pyproject["project"]["optional-dependencies"]["templates"]
    declared = {re.split(r"[\[<>=!~ ;]", requirement, maxsplit=1)[0].lower() for requirement in extra}
    missing = set(THIRD_PARTY.values()) - declared
    assert not missing
    # The Redis rate-limit storage runs on redis.asyncio; limits' async-redis extra would pull in coredis instead.
    assert not any(requirement.startswith("limits[async-redis]") for requirement in extra)
    assert "uvicorn-worker" in declared
    assert "gunicorn" in declared
    assert any(requirement.startswith("sqlalchemy[asyncio]") for requirement in extra)


@pytest.mark.parametrize("path", PYTHON_TEMPLATES, ids=lambda p: p.stem)
def test_each_template_imports(path: Path) -> None:
    module = tpl(path.stem)
    assert module.__doc__


def test_ruff_clean() -> None:
    result = subprocess.run(
        [str(Path(sys.executable).parent / "ruff"), "check", "--no-cache", str(TEMPLATES)],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_strict_clean(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--cache-dir", str(tmp_path / "cache"), str(TEMPLATES)],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
