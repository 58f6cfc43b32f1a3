"""The one way every tool touches files: the reviewer, ``--fix``, the cache, the MCP server and the scaffolder.

Tools run on repositories an agent has just cloned, so a file name inside the tree is never trusted to mean what
its path says. The rules this module enforces:

- **Beneath a root, no links.** A file inside a reviewed or allowed folder is opened relative to a descriptor of
  that folder without following a link in *any* component: Linux ``openat2`` with
  ``RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS`` (one system call, resolution done by the
  kernel, so a component swapped for a link mid-call is refused), else a walk one component at a time with
  ``O_NOFOLLOW | O_DIRECTORY`` through directory descriptors, ``O_NOFOLLOW`` on the last.
- **Vet the descriptor, read the descriptor.** Files open with ``O_NONBLOCK`` (a FIFO cannot hang the open),
  ``fstat`` refuses anything but a regular file before one byte is read, reads stop at a bound, and the caller
  keeps the bytes: nothing is opened again by name later.
- **Writes never follow a planted name.** New files are created ``O_CREAT | O_EXCL | O_NOFOLLOW`` under a random
  temporary name in a directory held by descriptor, then renamed within that same descriptor; an existing link is
  replaced as a name (its target is never written).

Every refusal is an :class:`AccessError` whose text is a short reason ("is a symbolic link") the caller puts after
the name it shows; no refusal names anything but the path the caller asked about.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import secrets
import stat
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "AUX_LIMIT",
    "DIRECTORY_FLAGS",
    "RENAME_EXCHANGE",
    "RENAME_NOREPLACE",
    "AccessError",
    "DeadlineExceeded",
    "Vetted",
    "check_deadline",
    "create_exclusive",
    "open_beneath",
    "open_dir_at",
    "open_root",
    "read_at",
    "read_beneath",
    "read_fd",
    "read_path",
    "rename_flags",
    "replace_at",
    "temporary_name",
]

#: Bound on auxiliary files (.gitignore, pyproject.toml): far above any real one, far below a memory problem.
AUX_LIMIT = 1_000_000

# getattr: the module still imports where a flag does not exist (Windows has none of these; the safety described
# above is the POSIX one, and the tests that prove it are skipped there).
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_READ = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | _CLOEXEC | getattr(os, "O_NOCTTY", 0)
_DIR = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | _CLOEXEC
#: Flags to open a folder for use as ``dir_fd`` (links in the name followed unless the caller adds O_NOFOLLOW).
DIRECTORY_FLAGS = _DIR
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)

# openat2(2): Linux 5.6+. The number is the same on every architecture (the unified syscall table).
_SYS_OPENAT2 = 437
_RESOLVE_NO_MAGICLINKS = 0x02
_RESOLVE_NO_SYMLINKS = 0x04
_RESOLVE_BENEATH = 0x08


class AccessError(OSError):
    """A refusal: ``str()`` is a short reason meant to follow the path the caller shows ("is a FIFO")."""

    def __init__(self, reason: str, code: int = 0) -> None:
        super().__init__(code, reason)
        self.reason = reason

    def __str__(self) -> str:
        return self.reason


class _OpenHow(ctypes.Structure):
    _fields_ = [("flags", ctypes.c_uint64), ("mode", ctypes.c_uint64), ("resolve", ctypes.c_uint64)]


def _load_openat2() -> Callable[..., int] | None:
    """``syscall`` from libc when this kernel has openat2, probed once; None means use the descriptor walk."""
    if not sys.platform.startswith("linux") or os.environ.get("PRODUCTION_FASTAPI_NO_OPENAT2"):
        return None
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        call = libc.syscall
    except (OSError, AttributeError):
        return None
    call.restype = ctypes.c_long
    call.argtypes = [ctypes.c_long, ctypes.c_int, ctypes.c_char_p, ctypes.c_void_p, ctypes.c_size_t]
    how = _OpenHow(_DIR, 0, _RESOLVE_BENEATH | _RESOLVE_NO_SYMLINKS)
    fd = call(_SYS_OPENAT2, -100, b".", ctypes.byref(how), ctypes.sizeof(how))  # AT_FDCWD
    if fd < 0:
        return None  # ENOSYS (old kernel) or a seccomp filter that forbids it
    os.close(fd)
    return call


_openat2 = _load_openat2()


def has_openat2() -> bool:
    """Whether file opens go through the kernel's ``openat2`` (else through the descriptor walk)."""
    return _openat2 is not None


def _reason(code: int) -> str:
    return {
        errno.ELOOP: "is a symbolic link, or a folder on its path is one (links are never followed here)",
        errno.EXDEV: "leads outside the folder being read",
        errno.ENOENT: "does not exist",
        errno.ENOTDIR: "has a file where a folder should be on its path",
        errno.EACCES: "cannot be opened (permission denied)",
        errno.EPERM: "cannot be opened (operation not permitted)",
        errno.ENAMETOOLONG: "has a path too long for this system",
        errno.EISDIR: "is a folder, not a file",
        errno.ENXIO: "is not a regular file (a socket or device)",
        errno.EAGAIN: "is locked or busy",
    }.get(code, os.strerror(code).lower())


def _error(exc: OSError) -> AccessError:
    code = exc.errno or 0
    return AccessError(_reason(code), code)


def _write_error(exc: OSError) -> AccessError:
    code = exc.errno or 0
    return AccessError(f"cannot be written ({os.strerror(code).lower()})", code)


def _components(relative: str) -> list[str]:
    parts = [part for part in relative.split("/") if part not in ("", ".")]
    if any(part == ".." for part in parts):
        raise AccessError("leads outside the folder being read", errno.EXDEV)
    return parts


def _open_dir_nofollow(name: str, dir_fd: int) -> int:
    """``openat(O_DIRECTORY | O_NOFOLLOW)``; Linux says ENOTDIR for a link there, which is reported as ELOOP."""
    try:
        return os.open(name, _DIR | _NOFOLLOW, dir_fd=dir_fd)
    except NotADirectoryError:
        try:
            is_link = stat.S_ISLNK(os.stat(name, dir_fd=dir_fd, follow_symlinks=False).st_mode)
        except OSError:
            is_link = False
        if is_link:
            raise OSError(errno.ELOOP, os.strerror(errno.ELOOP), name) from None
        raise


def _walk_open(root_fd: int, parts: list[str], flags: int, mode: int) -> int:
    """The portable fallback: one ``openat`` per component, never following a link."""
    current = root_fd
    try:
        for part in parts[:-1]:
            following = _open_dir_nofollow(part, current)
            if current != root_fd:
                os.close(current)
            current = following
        return os.open(parts[-1], flags | _NOFOLLOW, mode, dir_fd=current)
    finally:
        if current != root_fd:
            os.close(current)


def open_beneath(root_fd: int, relative: str, flags: int = _READ, mode: int = 0) -> int:
    """Open ``relative`` beneath the directory ``root_fd`` without following any link in any component.

    Raises :class:`AccessError`. ``relative`` "" or "." opens the root itself again (``flags`` should then say
    ``O_DIRECTORY``).
    """
    parts = _components(relative)
    if not parts:
        parts = ["."]
    if _openat2 is not None:
        how = _OpenHow(flags | _NOFOLLOW, mode if flags & os.O_CREAT else 0, _RESOLVE_BENEATH | _RESOLVE_NO_SYMLINKS)
        how.resolve |= _RESOLVE_NO_MAGICLINKS
        encoded = "/".join(parts).encode("utf-8", "surrogateescape")
        attempts = 0
        while True:
            fd = int(_openat2(_SYS_OPENAT2, root_fd, encoded, ctypes.byref(how), ctypes.sizeof(how)))
            if fd >= 0:
                return fd
            code = ctypes.get_errno()
            if code in (errno.EAGAIN, errno.EINTR) and attempts < 16:
                # EAGAIN: a rename or mount raced the lookup and the kernel could not prove containment; retry.
                attempts += 1
                continue
            raise AccessError(_reason(code), code)
    try:
        return _walk_open(root_fd, parts, flags, mode)
    except OSError as exc:
        raise _error(exc) from None


def open_root(path: Path | str) -> int:
    """A descriptor for a folder the *user* named (links in that name are the user's choice and are followed)."""
    try:
        return os.open(path, _DIR)
    except OSError as exc:
        raise _error(exc) from None


def open_dir_at(dir_fd: int, name: str) -> int:
    """A child folder of ``dir_fd``, refused when the name is a link (one system call: the directory walk)."""
    try:
        return _open_dir_nofollow(name, dir_fd)
    except OSError as exc:
        raise _error(exc) from None


@dataclass(frozen=True, slots=True)
class Vetted:
    """What a read produced: the bytes, and the file's identity when it was read (``--fix`` checks it again)."""

    data: bytes
    size: int
    device: int
    inode: int
    mode: int
    #: Hard links to the file (``st_nlink``): more than one means the same bytes also live under another name.
    links: int = 1
    #: True when the file was larger than the bound: ``data`` holds the first ``limit + 1`` bytes only.
    truncated: bool = False


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "is a folder, not a file"
    if stat.S_ISFIFO(mode):
        return "is a FIFO, not a regular file; not read"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "is a device, not a regular file; not read"
    if stat.S_ISSOCK(mode):
        return "is a socket, not a regular file; not read"
    return "is not a regular file; not read"


def read_fd(fd: int, limit: int, *, refuse_hardlinks: bool = False, strict: bool = False) -> Vetted:
    """Read a descriptor the caller opened: refuse a non-regular file, read at most ``limit + 1`` bytes.

    ``strict`` refuses a file over the bound; otherwise it comes back ``truncated`` (the reviewer reports its size).
    Closes ``fd``.
    """
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise AccessError(_kind(info.st_mode))
        if refuse_hardlinks and info.st_nlink > 1:
            raise AccessError("has other hard links (it may be a file from elsewhere); not read")
        if strict and info.st_size > limit:
            raise AccessError(f"is larger than the {limit:,}-byte limit; not read")
        chunks: list[bytes] = []
        remaining = limit + 1
        total = 0
        # Ask for one byte more than the size: a file read whole costs one read call, and one that grew meanwhile
        # is read on, up to the bound. A short read ends it only once the size is reached (a network file system
        # may return less than asked before the end).
        ask = min(remaining, info.st_size + 1)
        while remaining > 0:
            try:
                chunk = os.read(fd, ask)
            except OSError as exc:
                raise _error(exc) from None
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
            remaining -= len(chunk)
            if len(chunk) < ask and total >= info.st_size:
                break
            ask = min(remaining, 1 << 20)
    finally:
        os.close(fd)
    data = b"".join(chunks)
    truncated = len(data) > limit
    if truncated and strict:
        raise AccessError(f"is larger than the {limit:,}-byte limit; not read")
    return Vetted(data, max(info.st_size, len(data)), info.st_dev, info.st_ino, info.st_mode, info.st_nlink, truncated)


def read_beneath(
    root_fd: int, relative: str, limit: int, *, refuse_hardlinks: bool = False, strict: bool = False
) -> Vetted:
    """:func:`open_beneath` then :func:`read_fd`."""
    return read_fd(open_beneath(root_fd, relative), limit, refuse_hardlinks=refuse_hardlinks, strict=strict)


def read_at(dir_fd: int, name: str, limit: int, *, strict: bool = False) -> Vetted:
    """A file directly in ``dir_fd``, not followed if it is a link (one open, one fstat, the reads, one close)."""
    try:
        fd = os.open(name, _READ | _NOFOLLOW, dir_fd=dir_fd)
    except OSError as exc:
        raise _error(exc) from None
    return read_fd(fd, limit, strict=strict)


def read_path(path: Path | str, limit: int, *, follow: bool = True, strict: bool = False) -> Vetted:
    """A file the user named. ``follow`` keeps the name's links (ruff reads a symlink you name), yet a FIFO or a
    device behind it is still refused before reading, and the read is still bounded."""
    flags = _READ if follow else _READ | _NOFOLLOW
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise _error(exc) from None
    return read_fd(fd, limit, strict=strict)


def temporary_name(name: str) -> str:
    """A hidden, unpredictable sibling name for ``name`` (within the 255-byte limit of one component)."""
    stem = name.encode("utf-8", "surrogateescape")[:200].decode("utf-8", "ignore")
    return f".{stem}.{secrets.token_hex(8)}.tmp"


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def create_exclusive(dir_fd: int, name: str, data: bytes, mode: int = 0o644) -> bool:
    """Create ``name`` in ``dir_fd`` only if nothing (not even a dangling link) has that name; False if taken."""
    try:
        fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC, mode, dir_fd=dir_fd)
    except FileExistsError:
        return False
    try:
        _write_all(fd, data)
    finally:
        os.close(fd)
    return True


def replace_at(
    dir_fd: int,
    name: str,
    data: bytes,
    mode: int,
    *,
    expect: tuple[int, int] | None = None,
) -> None:
    """Atomically give ``name`` in ``dir_fd`` the content ``data``: a new file under a random name created with
    ``O_EXCL | O_NOFOLLOW``, then renamed over ``name`` within the same directory descriptor.

    ``expect`` (device, inode) makes it refuse when ``name`` is no longer the file that was read (swapped for a
    link or another file meanwhile). Raises :class:`AccessError`.
    """
    if expect is not None:
        try:
            info = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
        except OSError as exc:
            raise _error(exc) from None
        if stat.S_ISLNK(info.st_mode):
            raise AccessError("is a symbolic link; it is not rewritten (fix the file it points to)")
        if (info.st_dev, info.st_ino) != expect:
            raise AccessError("changed while it was being fixed; not written")
    temporary = ""
    for _ in range(8):
        temporary = temporary_name(name)
        try:
            fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC, 0o600, dir_fd=dir_fd)
            break
        except FileExistsError:
            continue
        except OSError as exc:
            raise _write_error(exc) from None
    else:
        raise AccessError("cannot be written (no free temporary name beside it)")
    try:
        try:
            _write_all(fd, data)
            os.fchmod(fd, stat.S_IMODE(mode))
        finally:
            os.close(fd)
        os.rename(temporary, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(temporary, dir_fd=dir_fd)
        raise _write_error(exc) from None


RENAME_NOREPLACE = 1
RENAME_EXCHANGE = 2


def _load_renameat2() -> Callable[..., int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        call = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return None  # glibc before 2.28, or another libc without it
    call.restype = ctypes.c_int
    call.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    return call


_renameat2 = _load_renameat2()


def rename_flags(src_dir_fd: int, src: str, dst_dir_fd: int, dst: str, flags: int) -> bool:
    """``renameat2`` with ``RENAME_NOREPLACE`` or ``RENAME_EXCHANGE``; False when this system cannot do it (no
    renameat2, or a file system that refuses the flag), so the caller takes its documented fallback. Other
    failures raise OSError."""
    if _renameat2 is None:
        return False
    result = _renameat2(src_dir_fd, os.fsencode(src), dst_dir_fd, os.fsencode(dst), flags)
    if result == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP):
        return False
    raise OSError(code, os.strerror(code), dst)


class DeadlineExceeded(TimeoutError):
    """A bounded operation ran past the deadline its caller set (the MCP server's per-call limit)."""


def check_deadline(deadline: float | None) -> None:
    """Raise :class:`DeadlineExceeded` once ``time.monotonic()`` is past ``deadline`` (None: no limit)."""
    if deadline is not None and time.monotonic() > deadline:
        raise DeadlineExceeded("the operation ran past its deadline")
