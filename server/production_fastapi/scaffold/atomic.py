"""Write a whole directory tree so that the destination is either untouched or complete, and nothing else changes.

The tree is built in a hidden staging folder beside the destination (same file system, so ``rename`` is atomic)
and moved into place at the end. What makes it safe on a folder others can change meanwhile:

- **One parent descriptor.** The destination's parent is opened once; the staging folder, every file and the final
  rename go through that descriptor (``mkdir``/``open``/``rename`` with ``dir_fd``), files are created
  ``O_CREAT | O_EXCL | O_NOFOLLOW``. A parent swapped for a symbolic link after that point cannot redirect a
  write; before the final rename and after it the path is checked to still lead to that folder, so the scaffolder
  never answers "Created" for a folder it did not write. The MCP server passes ``within``: the parent it opened
  must really be inside its allow-list (read back from ``/proc/self/fd``).
- **A lock.** ``flock`` on the parent's descriptor: two scaffolds beside each other take turns, so five concurrent
  calls for one destination give one project and four "not empty" refusals. The kernel drops the lock when a
  process dies, so a ``kill -9`` leaves no stale lock.
- **Never delete what it did not create.** A destination that is empty but for ``.DS_Store`` keeps it (it moves
  into the new tree). A file created in the destination while the scaffold runs makes the final rename fail
  (the folder is no longer empty) and survives. ``--force`` deletes only the entries the destination held when
  the scaffold started; one that appeared meanwhile is moved into the new tree (or left in the old one).
- **Crash leftovers are cleaned.** A staging folder carries a marker file; the next run beside it removes staging
  folders of the same destination that carry the marker (a folder without it is not ours and is left alone).
- **No moment without a destination.** ``--force`` swaps the trees with ``renameat2(RENAME_EXCHANGE)``; where
  the system lacks it (non-Linux, old kernels, some file systems), it falls back to two renames, with a moment in
  between where the destination name is absent.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import shutil
import stat
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path, PurePosixPath

from production_fastapi.fsaccess import (
    DIRECTORY_FLAGS,
    RENAME_EXCHANGE,
    RENAME_NOREPLACE,
    AccessError,
    create_exclusive,
    open_dir_at,
    rename_flags,
)
from production_fastapi.scaffold.errors import ScaffoldError

__all__ = ["MAX_DEST_CHARS", "STAGING_MARKER", "Within", "check_destination", "write_tree"]

# Files and folders that don't count when deciding whether a destination is "empty".
_NEGLIGIBLE = frozenset({".DS_Store"})
MAX_DEST_CHARS = 4096
# The destination's own name leaves room for the staging name ".NAME.scaffold-<16 hex>" within 255 bytes.
_MAX_DEST_NAME_BYTES = 200
STAGING_MARKER = ".production-fastapi-staging"
_LOCK_SECONDS = 30.0
_DIR = DIRECTORY_FLAGS

#: Whether a real path is somewhere a caller may write (the MCP server's allow-list); None allows anything.
Within = Callable[[Path], bool]


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


def _check_lengths(dest: Path) -> None:
    text = os.fspath(dest)
    if len(text) > MAX_DEST_CHARS:
        raise ScaffoldError(f"the destination path is {len(text):,} characters long, over the {MAX_DEST_CHARS:,} limit")
    for part in dest.parts:
        if len(part.encode("utf-8", "surrogateescape")) > 255:
            raise ScaffoldError(f"a folder name in the destination is over 255 bytes ({part[:24]}...)")
    if len(dest.name.encode("utf-8", "surrogateescape")) > _MAX_DEST_NAME_BYTES:
        raise ScaffoldError(f"the destination folder name is over {_MAX_DEST_NAME_BYTES} bytes; choose a shorter one")


def _nearest_existing(folder: Path) -> Path:
    for candidate in (folder, *folder.parents):
        if candidate.exists():
            return candidate
    return Path(folder.anchor)


def check_destination(dest: Path, *, force: bool) -> None:
    """Refuse a destination we must not or cannot write, before anything is touched (checked again under the
    lock, through descriptors, before anything is written)."""
    _check_lengths(dest)
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


def _fd_path(fd: int, fallback: Path) -> Path:
    """The real path of an open folder: from /proc on Linux (what the descriptor is, not what a name says now)."""
    with contextlib.suppress(OSError):
        return Path(os.readlink(f"/proc/self/fd/{fd}"))
    return Path(os.path.realpath(fallback))


def _same(fd: int, path: Path) -> bool:
    """Whether ``path`` (links followed, as a user will follow it) leads to the open folder ``fd``."""
    try:
        info = os.stat(path)
    except OSError:
        return False
    mine = os.fstat(fd)
    return (info.st_dev, info.st_ino) == (mine.st_dev, mine.st_ino)


class _Parent:
    """The destination's parent, opened once (its missing ancestors created through descriptors, and removed again
    if the scaffold fails)."""

    def __init__(self, parent: Path, within: Within | None) -> None:
        self.path = parent
        missing: list[str] = []
        existing = parent
        while not os.path.lexists(existing):
            missing.append(existing.name)
            existing = existing.parent
        self.fd = os.open(existing, _DIR)
        self._created: list[tuple[int, str]] = []
        try:
            if within is not None and not within(_fd_path(self.fd, existing)):
                # Named by nothing but "the destination": the real path is outside, and a client must not learn it.
                raise ScaffoldError(
                    "the destination's parent folder changed and now leads outside the allowed directories; "
                    "nothing was written"
                )
            for name in reversed(missing):
                os.mkdir(name, 0o777, dir_fd=self.fd)
                self._created.append((os.dup(self.fd), name))
                child = open_dir_at(self.fd, name)
                os.close(self.fd)
                self.fd = child
        except BaseException:
            self.close(failed=True)
            raise

    def close(self, *, failed: bool) -> None:
        os.close(self.fd)
        for fd, name in reversed(self._created):
            if failed:
                with contextlib.suppress(OSError):
                    os.rmdir(name, dir_fd=fd)
            os.close(fd)
        self._created = []


@contextlib.contextmanager
def _locked(fd: int, dest: Path) -> Iterator[None]:
    import fcntl  # POSIX only: imported here so the package still imports elsewhere

    deadline = time.monotonic() + _LOCK_SECONDS
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except BlockingIOError:
            if time.monotonic() > deadline:
                raise ScaffoldError(f"another scaffold is still writing beside {dest}; try again later") from None
            time.sleep(0.02)
    try:
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)


def _is_staging(parent_fd: int, name: str) -> bool:
    """A crashed run's staging folder: a real folder holding our marker file."""
    try:
        fd = open_dir_at(parent_fd, name)
    except AccessError:
        return False
    try:
        info = os.stat(STAGING_MARKER, dir_fd=fd, follow_symlinks=False)
    except OSError:
        return False
    finally:
        os.close(fd)
    return stat.S_ISREG(info.st_mode)


def _clean_stale(parent_fd: int, dest_name: str) -> None:
    prefix = f".{dest_name}.scaffold-"
    with os.scandir(parent_fd) as entries:
        names = [entry.name for entry in entries if entry.name.startswith(prefix)]
    for name in names:
        if _is_staging(parent_fd, name):
            shutil.rmtree(name, dir_fd=parent_fd, ignore_errors=True)


def _write_file(dir_fd: int, name: str, content: bytes) -> None:
    """One new file in a folder held by descriptor: never an existing name, never through a link."""
    if not create_exclusive(dir_fd, name, content, 0o666):
        raise ScaffoldError(f"cannot write {name}: the name already exists in the staging folder")


def _write_files(staging_fd: int, files: Sequence[tuple[PurePosixPath, bytes]]) -> None:
    folders: dict[PurePosixPath, int] = {PurePosixPath(): staging_fd}
    try:
        for relative, content in files:
            parent = relative.parent
            if parent not in folders:
                for ancestor in reversed((parent, *parent.parents)):
                    if ancestor in folders:
                        continue
                    with contextlib.suppress(FileExistsError):
                        os.mkdir(ancestor.name, 0o777, dir_fd=folders[ancestor.parent])
                    folders[ancestor] = open_dir_at(folders[ancestor.parent], ancestor.name)
            _write_file(folders[parent], relative.name, content)
    finally:
        for relative, fd in folders.items():
            if relative != PurePosixPath():
                os.close(fd)


def _remove(dir_fd: int, name: str) -> None:
    info = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    if stat.S_ISDIR(info.st_mode):
        shutil.rmtree(name, dir_fd=dir_fd)
    else:
        os.unlink(name, dir_fd=dir_fd)


def _listing(fd: int) -> dict[str, int]:
    with os.scandir(fd) as entries:
        return {entry.name: entry.inode() for entry in entries}


class _Staging:
    def __init__(self, parent_fd: int, dest_name: str) -> None:
        self.parent_fd = parent_fd
        for _ in range(8):
            self.name = f".{dest_name}.scaffold-{secrets.token_hex(8)}"
            try:
                os.mkdir(self.name, 0o777, dir_fd=parent_fd)
                break
            except FileExistsError:
                continue
        else:
            raise ScaffoldError("cannot find a free name for the staging folder")
        self.fd = open_dir_at(parent_fd, self.name)
        create_exclusive(self.fd, STAGING_MARKER, b"production-fastapi scaffold staging; safe to delete\n")

    def discard(self) -> None:
        """Remove the staging folder, if the name is still ours."""
        with contextlib.suppress(OSError):
            if _same_entry(self.parent_fd, self.name, self.fd):
                shutil.rmtree(self.name, dir_fd=self.parent_fd, ignore_errors=True)


def _same_entry(dir_fd: int, name: str, fd: int) -> bool:
    try:
        info = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except OSError:
        return False
    mine = os.fstat(fd)
    return (info.st_dev, info.st_ino) == (mine.st_dev, mine.st_ino)


def _swap_into_empty(parent_fd: int, staging: _Staging, name: str, dest: Path) -> None:
    """Replace an empty (or ``.DS_Store``-only) destination: its negligible files move into the new tree first; if
    anything appeared in it meanwhile, the rename fails, they move back and the scaffold is refused."""
    dest_fd = open_dir_at(parent_fd, name)
    moved: list[str] = []
    try:
        for entry in _listing(dest_fd):
            if entry in _NEGLIGIBLE:
                os.rename(entry, entry, src_dir_fd=dest_fd, dst_dir_fd=staging.fd)
                moved.append(entry)
        try:
            os.rename(staging.name, name, src_dir_fd=parent_fd, dst_dir_fd=parent_fd)
        except OSError as exc:
            if exc.errno not in (errno.ENOTEMPTY, errno.EEXIST):
                raise
            for entry in moved:
                with contextlib.suppress(OSError):
                    os.rename(entry, entry, src_dir_fd=staging.fd, dst_dir_fd=dest_fd)
            raise ScaffoldError(f"files appeared in {dest} while scaffolding; nothing was replaced") from None
    finally:
        os.close(dest_fd)


def _swap_forced(parent_fd: int, staging: _Staging, name: str, before: dict[str, int]) -> None:
    """``--force``: exchange the trees in one step, then delete from the old one only what it held at the start."""
    old_fd = open_dir_at(parent_fd, name)
    try:
        if not rename_flags(parent_fd, staging.name, parent_fd, name, RENAME_EXCHANGE):
            # Documented fallback: two renames, with a moment where the destination name is absent.
            aside = f".{name}.old-{secrets.token_hex(8)}"
            os.rename(name, aside, src_dir_fd=parent_fd, dst_dir_fd=parent_fd)
            try:
                os.rename(staging.name, name, src_dir_fd=parent_fd, dst_dir_fd=parent_fd)
            except BaseException:
                os.rename(aside, name, src_dir_fd=parent_fd, dst_dir_fd=parent_fd)
                raise
            old_name = aside
        else:
            old_name = staging.name
        for entry, inode in _listing(old_fd).items():
            if before.get(entry) == inode:
                with contextlib.suppress(OSError):
                    _remove(old_fd, entry)
            elif not rename_flags(old_fd, entry, staging.fd, entry, RENAME_NOREPLACE):
                # Without renameat2 a plain rename could replace a generated file: keep the newcomer where it is.
                pass
        with contextlib.suppress(OSError):
            os.rmdir(old_name, dir_fd=parent_fd)  # only succeeds when nothing unknown was left in it
    finally:
        os.close(old_fd)


def write_tree(
    dest: Path,
    files: Sequence[tuple[PurePosixPath, bytes]],
    *,
    force: bool,
    within: Within | None = None,
) -> list[Path]:
    """Write ``files`` (relative path, content) as a new tree at ``dest``, atomically. Returns the absolute paths
    of the files under ``dest``. Raises ScaffoldError (one sentence) and leaves everything as it was."""
    check_destination(dest, force=force)
    try:
        parent = _Parent(dest.parent, within)
    except OSError as exc:
        raise _os_error(dest, exc) from None
    failed = True
    try:
        with _locked(parent.fd, dest):
            _write_locked(parent.fd, dest, files, force=force)
        failed = False
    except OSError as exc:
        raise _os_error(dest, exc) from None
    finally:
        parent.close(failed=failed)
    return [dest / relative for relative, _ in files]


def _write_locked(parent_fd: int, dest: Path, files: Sequence[tuple[PurePosixPath, bytes]], *, force: bool) -> None:
    name = dest.name
    _clean_stale(parent_fd, name)
    try:
        info: os.stat_result | None = os.stat(name, dir_fd=parent_fd, follow_symlinks=False)
    except FileNotFoundError:
        info = None
    before: dict[str, int] = {}
    if info is not None:
        if stat.S_ISLNK(info.st_mode):
            raise ScaffoldError(f"destination {dest} became a symbolic link; nothing was written")
        if not stat.S_ISDIR(info.st_mode):
            raise ScaffoldError(f"destination {dest} exists and is not a folder")
        dest_fd = open_dir_at(parent_fd, name)
        try:
            before = _listing(dest_fd)
        finally:
            os.close(dest_fd)
        if not force and set(before) - _NEGLIGIBLE:
            raise ScaffoldError(f"destination {dest} is not empty; pass --force to replace its content")
    staging = _Staging(parent_fd, name)
    try:
        _write_files(staging.fd, files)
        if not _same(parent_fd, dest.parent):
            raise ScaffoldError(
                f"the folder {dest.parent} was replaced while scaffolding (by a link or another folder); "
                "nothing was written there"
            )
        if info is None:
            if not rename_flags(parent_fd, staging.name, parent_fd, name, RENAME_NOREPLACE):
                os.rename(staging.name, name, src_dir_fd=parent_fd, dst_dir_fd=parent_fd)
        elif set(before) - _NEGLIGIBLE:
            _swap_forced(parent_fd, staging, name, before)
        else:
            _swap_into_empty(parent_fd, staging, name, dest)
    except FileExistsError:
        staging.discard()
        raise ScaffoldError(f"{dest} was created by someone else while scaffolding; it was left as it is") from None
    except BaseException:
        staging.discard()
        raise
    try:
        with contextlib.suppress(OSError):
            os.unlink(STAGING_MARKER, dir_fd=staging.fd)
        if not _same(staging.fd, dest):
            raise ScaffoldError(
                f"the folder {dest.parent} was replaced while scaffolding; the project is not at {dest}"
            )
    finally:
        os.close(staging.fd)


def _os_error(dest: Path, exc: OSError) -> ScaffoldError:
    if isinstance(exc, AccessError):
        return ScaffoldError(f"cannot write {dest}: a folder on the way {exc}")
    reason = exc.strerror or errno.errorcode.get(exc.errno or 0, "unknown error")
    where = f" ({exc.filename})" if exc.filename and len(str(exc.filename)) < 300 else ""
    return ScaffoldError(f"cannot write {dest}: {reason}{where}")
