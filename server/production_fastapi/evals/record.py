"""Lean trial records: only what the agent changed relative to the starter, every byte stored once per run.

A trial folder ``<run>/<task>/<arm>/<trial>/`` holds ``changes.json``, ``result.json`` (grades and the agent's
metadata) and, when there is one, ``transcript.jsonl``. ``changes.json`` names each file the agent added or changed
and where its bytes are, and the starter files it deleted::

    {"format": 1, "trial": "task/arm/1", "starter": "<digest of the starter tree>",
     "files": {"app/core/settings.py": {"template": "settings.py", "sha256": "..."},
               "app/main.py": {"blob": "<sha256>"}},
     "deleted": ["app/old.py"]}

A file byte-identical to one of the skill's ``templates/`` is a reference, not a copy; any other new bytes go to
``<run>/blobs/<sha256>``, shared by every trial of the run, so two trials that wrote the same file store it once.
Replaying rebuilds the tree from the task's starter plus these changes, and refuses (with the reason) when the
starter or a referenced template no longer has the bytes the run was recorded against.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections import defaultdict
from functools import cache
from pathlib import Path
from typing import Any

from production_fastapi.evals.tasks import IGNORED_NAMES

__all__ = [
    "BLOBS",
    "CHANGES_FILE",
    "RecordError",
    "duplicate_files",
    "rebuild_tree",
    "record_changes",
    "snapshot",
    "tree_digest",
]

CHANGES_FILE = "changes.json"
BLOBS = "blobs"
FORMAT = 1


class RecordError(ValueError):
    """A recorded trial that cannot be rebuilt; the message says which file and why."""


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def snapshot(root: Path, *, skip: frozenset[str] = frozenset()) -> dict[str, Path]:
    """Every regular file under ``root`` by POSIX relative path, leaving out caches, VCS folders and ``skip``
    (top-level names such as an installed skill folder)."""
    files: dict[str, Path] = {}
    for item in sorted(root.rglob("*")):
        relative = item.relative_to(root)
        if relative.parts[0] in skip or any(part in IGNORED_NAMES for part in relative.parts):
            continue
        if item.is_file() and not item.is_symlink():
            files[relative.as_posix()] = item
    return files


def tree_digest(root: Path) -> str:
    """One hash of a tree's paths and bytes: the starter a trial was recorded against."""
    digest = hashlib.sha256()
    for relative, path in snapshot(root).items():
        digest.update(f"{relative}\0{_sha256(path.read_bytes())}\n".encode())
    return digest.hexdigest()


@cache
def _templates_by_hash() -> dict[str, str]:
    from production_fastapi import bundle

    by_hash: dict[str, str] = {}
    for template in bundle.list_templates():
        by_hash.setdefault(_sha256(template.path.read_bytes()), template.name)
    return by_hash


def record_changes(
    starter: Path, final: Path, run: Path, trial: str, *, skip: frozenset[str] = frozenset()
) -> dict[str, Any]:
    """Write ``run/<trial>/changes.json`` (and any new blobs) for the tree ``final`` grown from ``starter``.

    ``trial`` is ``task/arm/number``; it is stored too, so two trials that changed the same files still differ.
    """
    before = {relative: _sha256(path.read_bytes()) for relative, path in snapshot(starter).items()}
    after = snapshot(final, skip=skip)
    files: dict[str, dict[str, str]] = {}
    for relative, path in after.items():
        data = path.read_bytes()
        sha = _sha256(data)
        if before.get(relative) == sha:
            continue
        template = _templates_by_hash().get(sha)
        if template is not None:
            files[relative] = {"template": template, "sha256": sha}
            continue
        blob = run / BLOBS / sha
        if not blob.is_file():
            blob.parent.mkdir(parents=True, exist_ok=True)
            partial = blob.with_name(f".{sha}.partial")
            partial.write_bytes(data)
            partial.replace(blob)
        files[relative] = {"blob": sha}
    changes = {
        "format": FORMAT,
        "trial": trial,
        "starter": tree_digest(starter),
        "files": files,
        "deleted": sorted(set(before) - set(after)),
    }
    trial_dir = run / trial
    trial_dir.mkdir(parents=True, exist_ok=True)
    (trial_dir / CHANGES_FILE).write_text(json.dumps(changes, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return changes


def _safe(relative: str, where: Path) -> str:
    parts = Path(relative).parts
    if not parts or Path(relative).is_absolute() or ".." in parts:
        raise RecordError(f"{where}: {relative!r} is not a path inside the repository")
    return relative


def _bytes_of(entry: object, relative: str, run: Path, where: Path) -> bytes:
    from production_fastapi import bundle

    if not isinstance(entry, dict):
        raise RecordError(f"{where}: the entry of {relative} must be an object")
    if "blob" in entry:
        sha = str(entry["blob"])
        blob = run / BLOBS / sha
        if len(sha) != 64 or not blob.is_file():
            raise RecordError(f"{where}: {relative} needs blob {sha}, which {run / BLOBS} does not hold")
        return blob.read_bytes()
    if "template" in entry:
        name = str(entry["template"])
        try:
            data = bundle.get_template(name).path.read_bytes()
        except bundle.BundleError as exc:
            raise RecordError(f"{where}: {relative}: {exc}") from None
        if _sha256(data) != entry.get("sha256"):
            raise RecordError(
                f"{where}: {relative} was templates/{name} as it was when recorded; that template has changed since"
            )
        return data
    raise RecordError(f"{where}: the entry of {relative} names neither a blob nor a template")


def rebuild_tree(starter: Path, run: Path, trial_dir: Path, destination: Path) -> None:
    """Lay the recorded changes over a fresh copy of ``starter`` in ``destination`` (which must not exist)."""
    from production_fastapi.evals.tasks import copy_tree

    where = trial_dir / CHANGES_FILE
    try:
        changes = json.loads(where.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise RecordError(f"{where}: {exc}") from None
    if not isinstance(changes, dict) or changes.get("format") != FORMAT:
        raise RecordError(f"{where}: not a format-{FORMAT} change record")
    if changes.get("starter") != tree_digest(starter):
        raise RecordError(f"{where}: the task's starter has changed since this trial was recorded")
    destination.mkdir(parents=True)
    copy_tree(starter, destination)
    for relative in changes.get("deleted", []):
        (destination / _safe(str(relative), where)).unlink(missing_ok=True)
    for relative, entry in dict(changes.get("files", {})).items():
        target = destination / _safe(str(relative), where)
        data = _bytes_of(entry, relative, run, where)
        if target.is_dir():
            shutil.rmtree(target)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)


def duplicate_files(root: Path) -> list[list[str]]:
    """Groups of files under ``root`` with identical bytes (each group sorted, groups sorted): a lean record has
    none, since every byte a run needs is stored once."""
    by_hash: dict[str, list[str]] = defaultdict(list)
    for path in sorted(root.rglob("*")):
        if path.is_file() and not path.is_symlink():
            by_hash[_sha256(path.read_bytes())].append(path.relative_to(root).as_posix())
    return sorted(group for group in by_hash.values() if len(group) > 1)
