"""Where the skill's files live: the only module that knows.

In an installed wheel, SKILL.md, templates/ and references/ sit inside the package under ``_bundle/`` (hatch's
force-include puts them there). In a checkout or an editable install they sit at the repository root, two levels
above this file. Everything else asks this module, so the two layouts never leak into other code.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

__all__ = [
    "BundleError",
    "Template",
    "bundle_root",
    "get_template",
    "list_templates",
    "references_dir",
    "skill_md",
    "templates_dir",
]

_PACKAGE_DIR = Path(__file__).resolve().parent
_RULE_CODE = re.compile(r"\bPF\d{3}\b")
# Files in templates/ that are plumbing, not templates a user adopts.
_NOT_TEMPLATES = frozenset({"__init__.py", "py.typed"})


class BundleError(LookupError):
    """The skill's files are missing, or a template name is unknown."""


@cache
def bundle_root() -> Path:
    """The folder that holds SKILL.md, templates/ and references/."""
    for candidate in (_PACKAGE_DIR / "_bundle", _PACKAGE_DIR.parent.parent):
        if (candidate / "SKILL.md").is_file() and (candidate / "templates").is_dir():
            return candidate
    raise BundleError(
        "cannot find SKILL.md and templates/: reinstall production-fastapi (the wheel carries them) "
        "or run from a checkout of the repository"
    )


def skill_md() -> Path:
    return bundle_root() / "SKILL.md"


def templates_dir() -> Path:
    return bundle_root() / "templates"


def references_dir() -> Path:
    return bundle_root() / "references"


@dataclass(frozen=True, slots=True)
class Template:
    """One adoptable file of templates/, described by its own header."""

    name: str
    path: Path
    purpose: str
    rules: tuple[str, ...]

    @property
    def content(self) -> str:
        return self.path.read_text(encoding="utf-8")


def _header(path: Path, text: str) -> str:
    """The template's header: a Python module docstring, or the leading ``#`` comment block of other files."""
    if path.suffix == ".py":
        return ast.get_docstring(ast.parse(text)) or ""
    lines: list[str] = []
    for line in text.splitlines():
        if not line.startswith("#"):
            break
        if line.startswith("#!") or line.startswith("# syntax="):
            continue
        lines.append(line.lstrip("#").strip())
    return "\n".join(lines)


def _describe(path: Path) -> Template:
    header = _header(path, path.read_text(encoding="utf-8"))
    purpose = header.strip().split("\n\n", 1)[0].replace("\n", " ").strip()
    rules_lines = [line for line in header.splitlines() if line.strip().lower().startswith("rules:")]
    rules = tuple(dict.fromkeys(code for line in rules_lines for code in _RULE_CODE.findall(line)))
    return Template(name=path.name, path=path, purpose=purpose, rules=rules)


@cache
def list_templates() -> tuple[Template, ...]:
    """Every template, sorted by name."""
    folder = templates_dir()
    paths = sorted(p for p in folder.iterdir() if p.is_file() and p.name not in _NOT_TEMPLATES)
    return tuple(_describe(p) for p in paths)


def get_template(name: str) -> Template:
    """A template by file name (``middleware.py``) or stem (``middleware``)."""
    for template in list_templates():
        if name in (template.name, template.path.stem):
            return template
    known = ", ".join(t.name for t in list_templates())
    raise BundleError(f"unknown template {name!r}; known templates: {known}")
