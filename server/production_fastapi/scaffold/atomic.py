"""Write a whole directory tree so that the destination is either untouched or complete.

The tree is built in a hidden staging folder beside the destination (same file system, so ``rename`` is atomic)
and moved into place at the end. Replacing an existing folder (``force``) swaps by two renames and only then
deletes the old content. Any failure or interruption (including Ctrl-C) before the swap removes the staging
folder and any parent folders this run created, so the file system is left as it was.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

from production_fastapi.scaffold.errors import ScaffoldError

__all__ = ["check_destination", "write_tree"]

# Files and folders that don't count when deciding whether a destination is "empty".
_NEGLIGIBLE = frozenset({".DS_Store"})


def _umask() -> int:
    """The process umask. Linux reports it in /proc; elsewhere os.umask can only read it by setting it, which is
    briefly visible to other threads (the MCP server may generate from a worker thread), so that is the fallback."""
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/self/status").read_text(encoding="ascii").splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    current = os.umask(0o022)
    os.umask(current)
    return current


def _missing_parents(folder: Path) -> list[Path]:
    """The ancestors of ``folder`` (itself included) that don't exist yet, outermost first."""
    missing: list[Path] = []
    for candidate in (folder, *folder.parents):
        if candidate.exists():
            break
        missing.append(candidate)
    return missing[::-1]


def _nearest_existing(folder: Path) -> Path:
    for candidate in (folder, *folder.parents):
        if candidate.exists():
            return candidate
    return Path(folder.anchor)


def check_destination(dest: Path, *, force: bool) -> None:
    """Refuse a destination we must not or cannot write, before anything is touched."""
    if dest == Path(dest.anchor):
        raise ScaffoldError(f"cannot scaffold into the file system root {dest}")
    if dest.exists() and not dest.is_dir():
        raise ScaffoldError(f"destination {dest} exists and is not a folder")
    if dest.is_dir() and not force:
        with os.scandir(dest) as entries:
            if any(entry.name not in _NEGLIGIBLE for entry in entries):
                raise ScaffoldError(f"destination {dest} is not empty; pass --force to replace its content")
    existing = _nearest_existing(dest.parent)
    if not existing.is_dir():
        raise ScaffoldError(f"cannot create {dest}: {existing} is not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ScaffoldError(f"cannot create {dest}: no permission to write in {existing}")


@contextlib.contextmanager
def _created_parents(folder: Path) -> Iterator[None]:
    """Create ``folder``'s missing ancestors; remove them again if the block fails."""
    missing = _missing_parents(folder)
    try:
        for path in missing:
            path.mkdir()
        yield
    except BaseException:
        for path in reversed(missing):
            with contextlib.suppress(OSError):
                path.rmdir()
        raise


def _os_error(dest: Path, exc: OSError) -> ScaffoldError:
    reason = exc.strerror or errno.errorcode.get(exc.errno or 0, "unknown error")
    where = f" ({exc.filename})" if exc.filename else ""
    return ScaffoldError(f"cannot write {dest}: {reason}{where}")


def _swap_in(staging: Path, dest: Path) -> None:
    """Move the finished tree to ``dest``; an existing folder is set aside first and deleted after."""
    if not dest.exists():
        staging.rename(dest)
        return
    with os.scandir(dest) as entries:
        empty = not any(True for _ in entries)
    if empty:
        # POSIX rename replaces an empty folder in one step.
        staging.rename(dest)
        return
    old = Path(tempfile.mkdtemp(prefix=f".{dest.name}.old-", dir=dest.parent))
    old.rmdir()
    dest.rename(old)
    try:
        staging.rename(dest)
    except BaseException:
        old.rename(dest)
        raise
    shutil.rmtree(old, ignore_errors=True)


def write_tree(dest: Path, fill: Callable[[Path], list[Path]], *, force: bool) -> list[Path]:
    """Build the tree with ``fill(staging) -> relative paths written`` and move it to ``dest`` atomically.

    Returns the absolute paths of the files under ``dest``.
    """
    check_destination(dest, force=force)
    try:
        with _created_parents(dest.parent):
            staging = Path(tempfile.mkdtemp(prefix=f".{dest.name}.scaffold-", dir=dest.parent))
            try:
                # mkdtemp makes the folder private (0700); the project should get the usual permissions.
                staging.chmod(0o777 & ~_umask())
                written = fill(staging)
                _swap_in(staging, dest)
            except BaseException:
                shutil.rmtree(staging, ignore_errors=True)
                raise
    except OSError as exc:
        raise _os_error(dest, exc) from None
    return [dest / relative for relative in written]
