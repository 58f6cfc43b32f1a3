"""What a project declares about the versions of the libraries whose behaviour the rules depend on.

Read from the project root, never executed: pyproject.toml (``[project]`` dependencies and optional dependencies,
``[dependency-groups]``, Poetry's dependency tables, PDM's dev dependencies), ``requirements*.txt`` (and the files
their ``-r``/``-c`` lines include, inside the project and a few levels deep), setup.cfg ``install_requires`` /
``extras_require``, setup.py's ``install_requires`` (parsed with ``ast``), Pipfile, and the lock files poetry.lock,
uv.lock, pdm.lock and Pipfile.lock. A declared range wins; a lock's pinned version is used for a library the
project does not declare itself (``fastapi`` declared, ``pydantic`` pinned by the lock as its dependency).

Unreadable or malformed files are skipped: a review must never fail on a project's packaging.
Read once per project root and run (memoized on the files' sizes and modification times).
"""

from __future__ import annotations

import ast
import configparser
import functools
import json
import os
import re
import tomllib
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement

from production_fastapi.fsaccess import open_root, read_beneath
from production_fastapi.review.targets import Targets

__all__ = ["TRACKED", "declared_targets", "poetry_specifier"]

#: Libraries whose versions decide whether some rule holds (and those its fixes need).
TRACKED = frozenset(
    {"pydantic", "pydantic-settings", "fastapi", "starlette", "uvicorn", "uvicorn-worker", "redis", "sqlalchemy",
     "gunicorn"}
)
_MAX_INCLUDE_DEPTH = 4
_MAX_FILE_BYTES = 4_000_000
_LOCKS = ("poetry.lock", "uv.lock", "pdm.lock", "Pipfile.lock")
_SOURCES = ("pyproject.toml", "setup.cfg", "setup.py", "Pipfile", *_LOCKS)


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _read(path: Path, root: Path) -> str | None:
    """The text of a file inside ``root``; None when missing, too large, not a regular file (a FIFO must not hang
    the review), outside ``root``, or reached through a link in any component (a cloned repository's link could
    point anywhere): read through the shared file-access layer, like every file the reviewer opens."""
    relative = os.path.relpath(os.path.normpath(path), root)
    if relative == os.curdir or relative.startswith(os.pardir):
        return None
    try:
        root_fd = open_root(root)
    except OSError:
        return None
    try:
        vetted = read_beneath(root_fd, relative, _MAX_FILE_BYTES, strict=True)
    except OSError:
        return None
    finally:
        os.close(root_fd)
    return vetted.data.decode("utf-8", errors="replace")


def _requirement(line: str) -> tuple[str, str] | None:
    """``(name, specifier)`` of one PEP 508 line; the specifier gets ``||`` prepended when a marker guards it."""
    line = line.split(" #", 1)[0].strip()
    if not line or line.startswith(("#", "-", "git+", "http:", "https:", "file:", ".", "/")):
        return None
    try:
        req = Requirement(line)
    except InvalidRequirement:
        return None
    name = _normalise(req.name)
    if name not in TRACKED:
        return None
    return name, ("||" if req.marker is not None else "") + str(req.specifier)


def poetry_specifier(constraint: str) -> str:
    """Poetry's constraint language (``^1.10``, ``~1.10``, ``1.10.*``, ``>=1,<2``, ``a || b``) as PEP 440."""
    alternatives: list[str] = []
    for part in constraint.split("||"):
        pieces: list[str] = []
        for raw in re.split(r"\s*,\s*|\s+(?=[<>=!~^])", part.strip()):
            token = raw.strip()
            if not token or token == "*":  # noqa: S105 (a version wildcard, not a password)
                continue
            if token[0] in "^~" and not token.startswith("~="):
                caret = token[0] == "^"
                release = [int(p) for p in re.findall(r"\d+", token[1:])[:3]] or [0]
                if caret:
                    first = next((i for i, p in enumerate(release) if p != 0), len(release) - 1)
                    upper = release[: first + 1]
                else:
                    upper = release[:2] if len(release) >= 2 else release[:1]
                upper[-1] += 1
                pieces.append(f">={'.'.join(map(str, release))},<{'.'.join(map(str, upper))}")
            elif token[0].isdigit():
                pieces.append(f"=={token}")
            else:
                pieces.append(token)
        alternatives.append(",".join(pieces))
    return " || ".join(alternatives) if any(alternatives) else ""


def _poetry_table(table: Any) -> Iterator[tuple[str, str]]:
    if not isinstance(table, dict):
        return
    for raw, value in table.items():
        name = _normalise(str(raw))
        if name not in TRACKED:
            continue
        entries = value if isinstance(value, list) else [value]
        specs: list[str] = []
        for entry in entries:
            version = entry.get("version", "*") if isinstance(entry, dict) else entry
            if isinstance(version, str):
                specs.append(poetry_specifier(version))
        marked = len(specs) > 1 or any(isinstance(e, dict) and "markers" in e for e in entries)
        for spec in specs:
            yield name, ("||" if marked else "") + spec


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str)]
    return []


def _pyproject(text: str) -> Iterator[tuple[str, str]]:
    data = tomllib.loads(text)
    project = data.get("project", {})
    lines = _strings(project.get("dependencies"))
    for group in (project.get("optional-dependencies") or {}).values():
        lines += _strings(group)
    for group in (data.get("dependency-groups") or {}).values():
        lines += _strings(group)
    tool = data.get("tool", {})
    for group in ((tool.get("pdm") or {}).get("dev-dependencies") or {}).values():
        lines += _strings(group)
    for line in lines:
        found = _requirement(line)
        if found:
            yield found
    poetry = tool.get("poetry") or {}
    yield from _poetry_table(poetry.get("dependencies"))
    yield from _poetry_table(poetry.get("dev-dependencies"))
    for group in (poetry.get("group") or {}).values():
        if isinstance(group, dict):
            yield from _poetry_table(group.get("dependencies"))


def _setup_cfg(text: str) -> Iterator[tuple[str, str]]:
    parser = configparser.ConfigParser(interpolation=None)
    parser.read_string(text)
    lines: list[str] = []
    if parser.has_option("options", "install_requires"):
        lines += parser.get("options", "install_requires").splitlines()
    if parser.has_section("options.extras_require"):
        for _, value in parser.items("options.extras_require"):
            lines += value.splitlines()
    for line in lines:
        found = _requirement(line)
        if found:
            yield found


def _setup_py(text: str) -> Iterator[tuple[str, str]]:
    """``setup(install_requires=[...], extras_require={...})`` read from the syntax tree, names resolved one level
    (``REQUIRES = [...]`` at module level), never run."""
    tree = ast.parse(text)
    assigned = {
        target.id: node.value
        for node in tree.body
        if isinstance(node, ast.Assign)
        for target in node.targets
        if isinstance(target, ast.Name)
    }

    def values(node: ast.expr | None) -> list[str]:
        if isinstance(node, ast.Name):
            node = assigned.get(node.id)
        if isinstance(node, (ast.List, ast.Tuple)):
            return [e.value for e in node.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)]
        if isinstance(node, ast.Dict):
            return [line for value in node.values for line in values(value)]
        return []

    for call in ast.walk(tree):
        if isinstance(call, ast.Call) and (getattr(call.func, "id", None) or getattr(call.func, "attr", "")) == "setup":
            for kw in call.keywords:
                if kw.arg in ("install_requires", "extras_require", "tests_require"):
                    for line in values(kw.value):
                        found = _requirement(line)
                        if found:
                            yield found


def _pipfile(text: str) -> Iterator[tuple[str, str]]:
    data = tomllib.loads(text)
    for section in ("packages", "dev-packages"):
        for raw, value in (data.get(section) or {}).items():
            name = _normalise(str(raw))
            version = value.get("version", "*") if isinstance(value, dict) else value
            if name in TRACKED and isinstance(version, str):
                yield name, "" if version.strip() == "*" else version.strip()


def _requirements(path: Path, root: Path, depth: int, seen: set[Path]) -> Iterator[tuple[str, str]]:
    # Lexical, never following links: _read refuses a path through a link, and resolve() could loop on one.
    resolved = Path(os.path.normpath(path))
    if resolved in seen or depth > _MAX_INCLUDE_DEPTH or not resolved.is_relative_to(root):
        return
    seen.add(resolved)
    text = _read(resolved, root)
    if text is None:
        return
    for raw in text.splitlines():
        line = raw.strip()
        include = re.match(r"(?:-r|--requirement|-c|--constraint)\s*=?\s*(\S+)", line)
        if include:
            yield from _requirements(resolved.parent / include[1], root, depth + 1, seen)
            continue
        found = _requirement(line)
        if found:
            yield found


def _lock(name: str, text: str) -> Iterator[tuple[str, str]]:
    if name == "Pipfile.lock":
        data = json.loads(text)
        for section in ("default", "develop"):
            for raw, entry in (data.get(section) or {}).items():
                version = entry.get("version") if isinstance(entry, dict) else None
                if _normalise(raw) in TRACKED and isinstance(version, str) and version.startswith("=="):
                    yield _normalise(raw), version
        return
    for package in tomllib.loads(text).get("package", []):
        if not isinstance(package, dict):
            continue
        raw, version = package.get("name"), package.get("version")
        if isinstance(raw, str) and isinstance(version, str) and _normalise(raw) in TRACKED:
            yield _normalise(raw), f"=={version}"


def _requirement_files(root: Path) -> list[Path]:
    found: list[Path] = []
    for directory in (root, root / "requirements"):
        try:
            names = sorted(os.listdir(directory))
        except OSError:
            continue
        found += [directory / n for n in names if n.endswith((".txt", ".in")) and (
            n.startswith("requirements") or directory.name == "requirements")]
    return found


def _stamp(root: Path) -> tuple[tuple[str, int, int], ...]:
    stamps: list[tuple[str, int, int]] = []
    for path in [*(root / name for name in _SOURCES), *_requirement_files(root)]:
        try:
            stat = path.stat()
        except OSError:
            continue
        stamps.append((path.name, stat.st_mtime_ns, stat.st_size))
    return tuple(stamps)


def declared_targets(root: Path) -> Targets:
    """The version ranges ``root``'s project declares for the tracked libraries (empty when it declares none)."""
    return _declared(root.resolve(), _stamp(root))


def _combine(specs: Iterable[str]) -> str:
    """Unmarked declarations all apply (joined with ``,``); marked ones are alternatives (``||``)."""
    plain = [s for s in specs if not s.startswith("||")]
    marked = [s[2:] for s in specs if s.startswith("||")]
    parts = [",".join(p for p in plain if p)] if plain else []
    parts += [m for m in marked]
    if any(not p for p in parts):
        return ""  # some declaration allows any version
    return " || ".join(dict.fromkeys(parts))


@functools.lru_cache(maxsize=256)
def _declared(root: Path, _stamp: tuple[tuple[str, int, int], ...]) -> Targets:
    declared: dict[str, list[str]] = {}
    pinned: dict[str, str] = {}

    def collect(found: Iterable[tuple[str, str]], into: dict[str, list[str]]) -> None:
        try:
            for name, spec in found:
                into.setdefault(name, []).append(spec)
        except (ValueError, SyntaxError, TypeError, AttributeError, configparser.Error, RecursionError):
            return  # a malformed file says nothing

    for name, reader in (("pyproject.toml", _pyproject), ("setup.cfg", _setup_cfg), ("setup.py", _setup_py),
                         ("Pipfile", _pipfile)):
        text = _read(root / name, root)
        if text is not None:
            collect(reader(text), declared)
    seen: set[Path] = set()
    for path in _requirement_files(root):
        collect(_requirements(path, root, 0, seen), declared)
    locked: dict[str, list[str]] = {}
    for name in _LOCKS:
        text = _read(root / name, root)
        if text is not None:
            collect(_lock(name, text), locked)
    for name, specs in locked.items():
        pinned[name] = specs[0]
    result = {name: _combine(specs) for name, specs in declared.items()}
    for name, spec in pinned.items():
        if not result.get(name):
            result[name] = spec
    if not result.get("pydantic") and result.get("fastapi"):
        implied = _pydantic_implied_by_fastapi(result["fastapi"])
        if implied:
            result["pydantic"] = implied
    return tuple(sorted((name, spec) for name, spec in result.items() if spec))


def _pydantic_implied_by_fastapi(fastapi: str) -> str:
    """The pydantic range a project gets through FastAPI when it names none itself: FastAPI before 0.100 requires
    pydantic 1, so a range that still admits those releases may run on either major version ("" when it does not:
    the current release is assumed, as for any undeclared library)."""
    from production_fastapi.review.targets import coverage
    from production_fastapi.rules.base import VersionCondition

    scope = coverage((("fastapi", fastapi),), VersionCondition.parse("fastapi>=0.100"))
    return {"compat": ">=1,<3", "off": "<2"}.get(scope, "")
