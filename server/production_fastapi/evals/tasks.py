"""Eval tasks on disk: ``evals/tasks/<id>/`` read into :class:`Task`, and the trees a task can produce.

A task folder holds ``task.toml``, ``instruction.md``, ``starter/`` (the repository the agent gets, with its own
tests under ``starter/tests/``), ``tests/`` (hidden checks: ``test_requested*.py`` for behaviour the instruction
names, ``test_unrequested*.py`` for production qualities it does not), ``oracle/`` (files laid over the starter:
the reference solution) and ``bad/<variant>/`` (files laid over the oracle, plus ``variant.toml`` naming the
checks that variant must fail). Overlays keep each variant to the few lines that make it wrong.
"""

from __future__ import annotations

import ast
import re
import shutil
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "AREAS",
    "KINDS",
    "BadVariant",
    "Task",
    "TaskError",
    "check_ids",
    "copy_tree",
    "load_task",
    "load_tasks",
    "materialize",
]

AREAS = (
    "security", "lifecycle", "logging", "health", "errors", "middleware", "pydantic", "async", "deployment",
    "rate-limiting",
)
KINDS = ("feature", "vague", "fix", "spec")
# Never copied out of an agent's workspace or into a pristine run: caches (the reviewer's too: the static grader
# writes one), VCS, environments.
IGNORED_NAMES = frozenset({
    "__pycache__", ".git", ".venv", "venv", ".mypy_cache", ".ruff_cache", ".pytest_cache", "node_modules",
    ".production-fastapi-cache", ".hypothesis", ".coverage",
})
_ID = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}$")
_CHECK = re.compile(r"^(requested|unrequested):test_\w+$|^starter:[\w./-]+::test_\w+$|^rule:PF\d{3}$")
VARIANT_FILE = "variant.toml"


class TaskError(ValueError):
    """A task folder that does not follow the layout; the message names the file and the problem."""


@dataclass(frozen=True, slots=True)
class BadVariant:
    name: str
    path: Path
    description: str
    fails: tuple[str, ...]
    # files of the oracle this variant removes (relative paths)
    delete: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Task:
    id: str
    path: Path
    title: str
    area: str
    kind: str
    app: str
    rules: tuple[str, ...]
    still_pass: tuple[str, ...]
    env: dict[str, str]
    hidden_timeout: float
    agent_timeout: float
    # templates/ files the oracle adopts verbatim (copied into ``oracle_templates_into`` before oracle/ is laid
    # over): the reference solution uses the skill's own code, so validate also proves the templates do the job.
    oracle_templates: tuple[str, ...] = ()
    oracle_templates_into: str = ""
    bad: tuple[BadVariant, ...] = field(default=())

    @property
    def instruction(self) -> str:
        return (self.path / "instruction.md").read_text(encoding="utf-8")

    @property
    def starter(self) -> Path:
        return self.path / "starter"

    @property
    def oracle(self) -> Path:
        return self.path / "oracle"

    @property
    def hidden_tests(self) -> Path:
        return self.path / "tests"

    def checks(self) -> tuple[str, ...]:
        """Every check of the task: hidden tests, the starter's own tests, and one per listed rule."""
        return check_ids(self.hidden_tests, self.starter / "tests") + tuple(f"rule:{code}" for code in self.rules)

    def must_newly_pass(self) -> tuple[str, ...]:
        """Hidden checks the untouched starter must fail (all requested/unrequested ones not in ``still_pass``)."""
        return tuple(
            check for check in check_ids(self.hidden_tests, None)
            if check not in self.still_pass
        )

    def variant(self, name: str) -> BadVariant:
        for variant in self.bad:
            if variant.name == name:
                return variant
        raise TaskError(f"task {self.id} has no bad variant {name!r}; it has: {', '.join(v.name for v in self.bad)}")


def _test_names(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    return [
        node.name for node in tree.body
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("test_")
    ]


def check_ids(hidden: Path, starter_tests: Path | None) -> tuple[str, ...]:
    """Check ids found statically (top-level ``test_*`` functions): the harness knows every check even when a file
    fails to import, so a broken file counts as failed checks instead of vanishing from the denominator."""
    ids: list[str] = []
    for path in sorted(hidden.glob("test_*.py")):
        kind = "requested" if path.name.startswith("test_requested") else "unrequested"
        if not path.name.startswith(("test_requested", "test_unrequested")):
            raise TaskError(f"{path}: hidden test files are named test_requested*.py or test_unrequested*.py")
        ids.extend(f"{kind}:{name}" for name in _test_names(path))
    if starter_tests is not None and starter_tests.is_dir():
        for path in sorted(starter_tests.rglob("test_*.py")):
            relative = path.relative_to(starter_tests).as_posix()
            ids.extend(f"starter:{relative}::{name}" for name in _test_names(path))
    duplicates = {check for check in ids if ids.count(check) > 1}
    if duplicates:
        raise TaskError(f"{hidden}: check names must be unique per kind: {', '.join(sorted(duplicates))}")
    return tuple(ids)


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise TaskError(f"{path} is missing") from None
    except tomllib.TOMLDecodeError as exc:
        raise TaskError(f"{path}: {exc}") from None


def _strings(data: dict[str, Any], key: str, where: Path) -> tuple[str, ...]:
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise TaskError(f"{where}: {key} must be a list of strings")
    return tuple(value)


def _load_variant(path: Path, known: set[str]) -> BadVariant:
    meta_path = path / VARIANT_FILE
    meta = _read_toml(meta_path)
    fails = _strings(meta, "fails", meta_path)
    if not fails:
        raise TaskError(f"{meta_path}: fails must name at least one check the variant must fail")
    unknown = [check for check in fails if check not in known]
    if unknown:
        raise TaskError(f"{meta_path}: unknown checks {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    description = meta.get("description")
    if not isinstance(description, str) or not description.strip():
        raise TaskError(f"{meta_path}: description must say what is wrong with this variant")
    delete = _strings(meta, "delete", meta_path)
    if any(item.startswith("/") or ".." in item for item in delete):
        raise TaskError(f"{meta_path}: delete lists paths relative to the repository")
    return BadVariant(name=path.name, path=path, description=description.strip(), fails=fails, delete=delete)


def load_task(path: Path) -> Task:
    """Read and check one task folder."""
    path = path.resolve()
    meta_path = path / "task.toml"
    meta = _read_toml(meta_path)
    task_id = path.name
    if not _ID.match(task_id):
        raise TaskError(f"{path}: a task id is lower-case letters, digits and hyphens")
    for required in ("instruction.md", "starter", "tests"):
        if not (path / required).exists():
            raise TaskError(f"{path / required} is missing")
    area, kind, app = meta.get("area"), meta.get("kind"), meta.get("app")
    if area not in AREAS:
        raise TaskError(f"{meta_path}: area must be one of {', '.join(AREAS)}, not {area!r}")
    if kind not in KINDS:
        raise TaskError(f"{meta_path}: kind must be one of {', '.join(KINDS)}, not {kind!r}")
    if not isinstance(app, str) or ":" not in app:
        raise TaskError(f"{meta_path}: app must be the import string of the app, like 'app.main:app'")
    rules = _strings(meta, "rules", meta_path)
    bad_codes = [code for code in rules if not re.fullmatch(r"PF\d{3}", code)]
    if bad_codes:
        raise TaskError(f"{meta_path}: rules must be codes like PF102, not {', '.join(bad_codes)}")
    env = meta.get("env", {})
    if not isinstance(env, dict) or not all(isinstance(v, str) for v in env.values()):
        raise TaskError(f"{meta_path}: [env] values must be strings")
    timeouts = meta.get("timeouts", {})
    oracle_meta = meta.get("oracle", {})
    oracle_templates = _strings(oracle_meta, "templates", meta_path)
    # An oracle made only of templates needs no oracle/ folder (git keeps no empty folder anyway).
    if not oracle_templates and not (path / "oracle").is_dir():
        raise TaskError(f"{path / 'oracle'} is missing: add the reference solution there, or [oracle] templates")
    into = oracle_meta.get("templates_into", "")
    targets = [into, *(entry.partition("=")[2] for entry in oracle_templates)]
    if oracle_templates and (
        not isinstance(into, str) or not into or any(t.startswith("/") or ".." in t for t in targets)
    ):
        raise TaskError(f"{meta_path}: [oracle] templates_into must be a relative folder like 'app/core'")
    task = Task(
        id=task_id,
        path=path,
        title=str(meta.get("title", task_id)),
        area=area,
        kind=kind,
        app=app,
        rules=rules,
        still_pass=_strings(meta, "still_pass", meta_path),
        env=dict(env),
        hidden_timeout=float(timeouts.get("hidden_tests", 120)),
        agent_timeout=float(timeouts.get("agent", 1800)),
        oracle_templates=oracle_templates,
        oracle_templates_into=into,
    )
    known = set(task.checks())
    for check in task.still_pass:
        if check not in known:
            raise TaskError(f"{meta_path}: still_pass names unknown check {check}")
    for check in known:
        if not _CHECK.match(check):
            raise TaskError(f"{path}: malformed check id {check}")
    bad_dir = path / "bad"
    variants = tuple(
        _load_variant(variant_path, known)
        for variant_path in sorted(bad_dir.iterdir() if bad_dir.is_dir() else [])
        if variant_path.is_dir()
    )
    return Task(**{**_fields(task), "bad": variants})


def _fields(task: Task) -> dict[str, Any]:
    return {name: getattr(task, name) for name in Task.__slots__}


def load_tasks(root: Path, only: list[str] | None = None) -> list[Task]:
    """Every task under ``root`` (sorted by id), or only the named ones."""
    if not root.is_dir():
        raise TaskError(f"{root} is not a folder of tasks")
    paths = sorted(p for p in root.iterdir() if (p / "task.toml").is_file())
    if only:
        names = {p.name for p in paths}
        missing = [name for name in only if name not in names]
        if missing:
            raise TaskError(f"unknown task {', '.join(missing)}; known: {', '.join(sorted(names))}")
        paths = [p for p in paths if p.name in only]
    return [load_task(p) for p in paths]


def copy_tree(source: Path, destination: Path, *, skip: frozenset[str] = frozenset()) -> None:
    """Copy ``source`` over ``destination`` (files replace files), leaving caches and VCS folders behind."""
    for item in sorted(source.rglob("*")):
        relative = item.relative_to(source)
        if any(part in IGNORED_NAMES for part in relative.parts) or relative.as_posix() in skip:
            continue
        target = destination / relative
        if item.is_dir():
            target.mkdir(parents=True, exist_ok=True)
        elif item.is_file():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(item, target)


def materialize(task: Task, variant: str, destination: Path) -> Path:
    """Write the tree of ``variant`` (``starter``, ``oracle`` or ``bad/<name>``) into ``destination``."""
    destination.mkdir(parents=True, exist_ok=True)
    copy_tree(task.starter, destination)
    if variant == "starter":
        return destination
    if task.oracle_templates:
        from production_fastapi import bundle

        package = destination / task.oracle_templates_into
        package.mkdir(parents=True, exist_ok=True)
        if task.oracle_templates_into != ".":
            (package / "__init__.py").touch()
        for entry in task.oracle_templates:
            # "name" lands in templates_into; "name=path/in/repo" lands where the template's header says it goes.
            name, _, target = entry.partition("=")
            where = destination / target if target else package / name
            where.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(bundle.get_template(name).path, where)
    if task.oracle.is_dir():
        copy_tree(task.oracle, destination)
    if variant == "oracle":
        return destination
    bad = task.variant(variant.removeprefix("bad/"))
    copy_tree(bad.path, destination, skip=frozenset({VARIANT_FILE}))
    for relative in bad.delete:
        doomed = destination / relative
        if doomed.is_dir():
            shutil.rmtree(doomed)
        else:
            doomed.unlink(missing_ok=True)
    return destination
