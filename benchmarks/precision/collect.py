"""Review every fetched package as its own project and turn each finding into a record with a stable key.

The key must survive a rerun on a changed reviewer, where unrelated edits shift line numbers: it is the package,
version, path, rule code and a short hash of the flagged line with two lines either side (each stripped of
indentation), plus an occurrence number when the same snippet is flagged twice in one file. The line is recorded
but is not part of the key.
"""

from __future__ import annotations

import ast
import hashlib
import json
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.precision.packages import load_manifest

__all__ = [
    "EXCERPT_CONTEXT",
    "ReviewError",
    "collect",
    "default_reviewer",
    "enclosing_headers",
    "excerpt",
    "fix_diff",
    "fix_offered",
    "snippet_hash",
]

EXCERPT_CONTEXT = 15
HASH_CONTEXT = 2
PARSE_ERROR_CODE = "PF000"


class ReviewError(Exception):
    """The reviewer could not review a package; the message is one line."""


def default_reviewer() -> list[str]:
    """The reviewer installed next to this interpreter (the worktree's .venv), else the one on PATH."""
    beside = Path(sys.executable).with_name("production-fastapi")
    if beside.is_file():
        return [str(beside)]
    found = shutil.which("production-fastapi")
    if found is None:
        raise ReviewError("no production-fastapi next to this Python or on PATH: pass --reviewer")
    return [found]


def parse_reviewer(command: str | None) -> list[str]:
    if command is None:
        return default_reviewer()
    argv = shlex.split(command)
    if not argv:
        raise ReviewError("--reviewer is empty")
    if shutil.which(argv[0]) is None and not Path(argv[0]).is_file():
        raise ReviewError(f"--reviewer: {argv[0]} is not an executable file or a command on PATH")
    return argv


def snippet_hash(lines: list[str], line: int) -> str:
    """12 hex digits over the flagged line and HASH_CONTEXT lines either side, indentation and blanks ignored."""
    lo = max(0, line - 1 - HASH_CONTEXT)
    hi = min(len(lines), line + HASH_CONTEXT)
    text = "\n".join(ln.strip() for ln in lines[lo:hi])
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


def excerpt(lines: list[str], line: int, end_line: int) -> str:
    """The flagged lines (marked `>`) with EXCERPT_CONTEXT lines either side, each numbered."""
    lo = max(1, line - EXCERPT_CONTEXT)
    hi = min(len(lines), max(line, end_line) + EXCERPT_CONTEXT)
    width = len(str(hi))
    out = []
    for number in range(lo, hi + 1):
        mark = ">" if line <= number <= max(line, end_line) else " "
        out.append(f"{mark}{number:>{width}}| {lines[number - 1]}")
    return "\n".join(out)


def enclosing_headers(tree: ast.Module | None, lines: list[str], line: int) -> list[str]:
    """The headers (decorators to the colon) of the classes and functions whose bodies hold `line`, outermost first.

    A finding on a def line itself (or its decorators) is about that function, so the function is not its scope.
    """
    if tree is None:
        return []
    scopes = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.body:
            first_body = node.body[0].lineno
            if first_body <= line <= (node.end_lineno or first_body):
                start = min([node.lineno, *(d.lineno for d in node.decorator_list)])
                scopes.append((start, max(node.lineno, first_body - 1)))
    headers = []
    for start, header_end in sorted(scopes):
        block = [f"{n}| {lines[n - 1]}" for n in range(start, min(header_end, len(lines)) + 1)]
        headers.append("\n".join(block))
    return headers


def fix_diff(reviewer: list[str], folder: Path, record: dict[str, Any]) -> str:
    """The unified diff the reviewer's fixes for this rule make to this file (empty when it offers none).

    All of the rule's fixes in the file are shown, not only the hunk at the finding: a fix often adds an import at
    the top, and a judge deciding whether the fix is safe has to see that too. Run in the package folder so the
    reviewer reads the project's own configuration and declared dependencies, as in the review.
    """
    if record["fix_offered"] not in ("safe", "unsafe"):
        return ""
    base = [*reviewer, "review", "--diff", "--no-cache", "--exit-zero", "--jobs", "1", "--select", record["code"]]
    attempts = [[*base, "--unsafe-fixes", record["path"]], [*base, record["path"]]]
    if record["fix_offered"] == "safe":
        attempts.reverse()
    for cmd in attempts:
        done = subprocess.run(cmd, cwd=folder, capture_output=True, text=True, check=False)
        if done.stdout.startswith("---"):
            return done.stdout
    return ""


def fix_offered(item: dict[str, Any]) -> str:
    """What the reviewer offers: `safe`/`unsafe` for an automatic fix, `suggestion` for a titled manual change, `none`.

    A reviewer that declares applicability (`fix_applicability`, `applicability` or `fix_safety`, on the finding or
    in a nested `fix` object) is taken at its word; before that existed, `fixable` meant `--fix` applies it, which
    the CLI documents as "the safe fixes".
    """
    nested = item.get("fix")
    places = [item, nested] if isinstance(nested, dict) else [item]
    for place in places:
        for field in ("fix_applicability", "applicability", "fix_safety"):
            value = place.get(field)
            if isinstance(value, str) and value:
                return value.lower()
    if item.get("fixable"):
        return "safe"
    if item.get("fix_title"):
        return "suggestion"
    return "none"


@dataclass(slots=True)
class PackageReview:
    name: str
    version: str
    kind: str
    folder: Path
    files_checked: int
    lines: int
    findings: list[dict[str, Any]]
    errors: list[str]


def review_package(reviewer: list[str], folder: Path, jobs: int, *, every_rule: bool = False) -> dict[str, Any]:
    """One package's review as JSON: the default set, or with ``every_rule`` the opt-in rules too."""
    if not folder.is_dir():
        raise ReviewError(f"package folder {folder} is missing: rerun benchmarks.precision.fetch")
    selection = ["--select", "ALL"] if every_rule else []
    cmd = [*reviewer, "review", "--format", "json", "--no-cache", "--exit-zero", "--jobs", str(jobs), *selection, "."]
    done = subprocess.run(cmd, cwd=folder, capture_output=True, text=True, check=False)
    try:
        data: dict[str, Any] = json.loads(done.stdout)
    except json.JSONDecodeError:
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise ReviewError(f"{shlex.join(cmd)} in {folder} exited {done.returncode}: {tail}") from None
    return data


def _records(name: str, version: str, kind: str, folder: Path, data: dict[str, Any]) -> list[dict[str, Any]]:
    sources: dict[str, tuple[list[str], ast.Module | None]] = {}
    seen: dict[str, int] = {}
    records = []
    ordered = sorted(data.get("findings", []), key=lambda f: (f["path"], f["code"], f["line"], f.get("column", 0)))
    for item in ordered:
        rel = Path(item["path"]).as_posix().removeprefix("./")
        if rel not in sources:
            path = folder / rel
            text = path.read_text(encoding="utf-8", errors="replace") if path.is_file() else ""
            try:
                tree = ast.parse(text) if rel.endswith(".py") else None
            except (SyntaxError, ValueError):
                tree = None
            sources[rel] = (text.splitlines(), tree)
        lines, tree = sources[rel]
        line = int(item.get("line") or 1)
        end_line = int(item.get("end_line") or line)
        digest = snippet_hash(lines, line)
        base = f"{name}=={version}:{rel}:{item['code']}:{digest}"
        occurrence = seen.get(base, 0)
        seen[base] = occurrence + 1
        records.append(
            {
                "key": base if occurrence == 0 else f"{base}#{occurrence}",
                "package": name,
                "version": version,
                "kind": kind,
                "path": rel,
                "line": line,
                "end_line": end_line,
                "column": item.get("column"),
                "hash": digest,
                "code": item["code"],
                "name": item.get("name"),
                "severity": item.get("severity"),
                "message": item.get("message"),
                "fixable": bool(item.get("fixable")),
                "fix_title": item.get("fix_title"),
                "fix_offered": fix_offered(item),
                "abs_path": str((folder / rel).resolve()),
                "_folder": folder,
                "_lines": lines,
                "_tree": tree,
            }
        )
    return records


def collect(
    root: Path, reviewer: list[str], jobs: int = 1, only: list[str] | None = None, *, every_rule: bool = False
) -> list[PackageReview]:
    """Review each package in the manifest under `root`; findings carry keys and (private) source for excerpts.

    ``every_rule`` adds the opt-in rules: a true positive of a rule since moved out of the default set is still
    found when selected, which is what a replay of judged findings checks."""
    reviews = []
    for entry in load_manifest(root):
        name, version = str(entry["name"]), str(entry["version"])
        if only and name not in only:
            continue
        folder = root / str(entry["folder"])
        data = review_package(reviewer, folder, jobs, every_rule=every_rule)
        reviews.append(
            PackageReview(
                name=name,
                version=version,
                kind=str(entry.get("kind", "")),
                folder=folder,
                files_checked=int(data.get("files_checked", 0)),
                lines=int(str(entry.get("lines", 0))),
                findings=_records(name, version, str(entry.get("kind", "")), folder, data),
                errors=[str(e) for e in data.get("errors", [])],
            )
        )
    return reviews


def public(record: dict[str, Any]) -> dict[str, Any]:
    """The record without the private source fields."""
    return {k: v for k, v in record.items() if not k.startswith("_")}
