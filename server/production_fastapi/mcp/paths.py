"""The one path policy every MCP tool goes through before it touches the file system.

A model chooses the paths our tools receive, and a model can be talked into anything by the code it reads, so the
policy trusts nothing it is given:

- an allow-list of directories (``--allow DIR``, the ``PRODUCTION_FASTAPI_MCP_ALLOW`` variable, or the working
  directory) bounds every read and write; client roots may only narrow it, never widen it;
- a path is resolved to its real path (symlinks followed) before the containment check, and containment compares
  path components, so ``/srv/app-evil`` is not inside ``/srv/app``;
- a file is then opened beneath the allowed directory's descriptor without following a link in any component
  (``production_fastapi.fsaccess``: ``openat2`` where the kernel has it), with ``O_NONBLOCK``, and checked through
  the open descriptor, so a folder or file swapped for a symlink, FIFO or device after the check is refused rather
  than followed, and a hard link (the same bytes under a second name, perhaps outside) is refused too;
- NUL bytes, control characters, over-long names, devices, FIFOs, sockets, directories where a file is expected,
  files over the size cap and text that is not UTF-8 are refused;
- new folders get plain names only (letters, digits, ``.``, ``_``, ``-``), so an encoded separator such as ``%2f``
  never becomes a directory that looks like a traversal.

Every refusal is a :class:`PathRefused` whose message is one sentence naming nothing outside the allow-list: a
client must not learn what exists elsewhere on the machine from our errors.
"""

from __future__ import annotations

import errno
import os
import re
import stat
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from production_fastapi import fsaccess

__all__ = [
    "ALLOW_ENV",
    "MAX_FILE_BYTES",
    "MAX_PATH_CHARS",
    "PathPolicy",
    "PathRefused",
]

ALLOW_ENV = "PRODUCTION_FASTAPI_MCP_ALLOW"
MAX_PATH_CHARS = 4096
MAX_FILE_BYTES = 1_000_000
# The common file-system limit on one name; longer ones fail with ENAMETOOLONG, which we'd rather say plainly.
_MAX_NAME_BYTES = 255
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_NEW_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]*")


class PathRefused(ValueError):
    """A path a tool may not use; the message is one sentence safe to show the client."""


def _size_text(limit: int) -> str:
    return f"{limit / 1_000_000:g} MB" if limit >= 1_000_000 else f"{limit / 1000:g} kB"


def _check_text(raw: str) -> None:
    """Refuse what no legitimate path contains, before the string reaches the operating system."""
    if not raw.strip():
        raise PathRefused("The path is empty; give a file or folder inside the allowed directories.")
    if "\x00" in raw:
        raise PathRefused("The path contains a NUL byte, which no file name may contain.")
    if _CONTROL.search(raw):
        raise PathRefused("The path contains a control character, which this server does not accept in file names.")
    if len(raw) > MAX_PATH_CHARS:
        raise PathRefused(f"The path is longer than {MAX_PATH_CHARS} characters.")
    if any(len(part.encode("utf-8", "surrogateescape")) > _MAX_NAME_BYTES for part in raw.split("/")):
        raise PathRefused(f"A component of the path is longer than {_MAX_NAME_BYTES} bytes.")


@dataclass(frozen=True, slots=True)
class PathPolicy:
    """Real, absolute directories inside which tools may read and write.

    Relative paths are taken relative to the first directory, which is the working directory by default: that is
    where Claude Code, Cursor and VS Code start a stdio server, so ``app/main.py`` means what the user sees.
    """

    allowed: tuple[Path, ...]
    max_file_bytes: int = MAX_FILE_BYTES

    @classmethod
    def from_dirs(cls, dirs: Iterable[str | Path], *, max_file_bytes: int = MAX_FILE_BYTES) -> PathPolicy:
        """Build the policy from configuration; a directory that does not exist is a configuration error."""
        resolved: list[Path] = []
        for entry in dirs:
            text = str(entry)
            if not text.strip() or "\x00" in text:
                raise ValueError("an allowed directory must be a non-empty path without NUL bytes")
            real = Path(os.path.realpath(Path(text).expanduser()))
            if not real.is_dir():
                raise ValueError(f"allowed directory {text!r} does not exist or is not a directory")
            resolved.append(real)
        if not resolved:
            raise ValueError("at least one allowed directory is needed")
        return cls(tuple(dict.fromkeys(resolved)), max_file_bytes)

    @classmethod
    def from_environment(cls, flags: Iterable[str | Path] = (), *, cwd: Path | None = None) -> PathPolicy:
        """``--allow`` flags win; else the environment variable (``os.pathsep``-separated); else the working dir."""
        dirs = list(flags)
        if not dirs:
            dirs = [part for part in os.environ.get(ALLOW_ENV, "").split(os.pathsep) if part.strip()]
        if not dirs:
            here = Path(os.path.realpath(cwd or Path.cwd()))
            if here == Path(here.anchor):
                # Some clients (Claude Desktop among them) start servers in /: by default that would open the whole
                # file system to the tools. Opening it takes an explicit --allow.
                raise ValueError(
                    f"the working directory is {here}, so no default allow-list is safe; pass --allow DIR or set "
                    f"{ALLOW_ENV}"
                )
            dirs = [here]
        return cls.from_dirs(dirs)

    def narrowed(self, roots: Iterable[Path]) -> PathPolicy:
        """The part of the allow-list that the client's roots also cover (roots never add anything)."""
        kept: list[Path] = []
        for root in roots:
            real = Path(os.path.realpath(root))
            for allowed in self.allowed:
                if real.is_relative_to(allowed):
                    kept.append(real)
                elif allowed.is_relative_to(real):
                    kept.append(allowed)
        return PathPolicy(tuple(dict.fromkeys(kept)), self.max_file_bytes)

    def describe(self) -> str:
        """The allowed directories, for messages (they are the one place we may name)."""
        if not self.allowed:
            return "none (the client's roots share no folder with the server's allow-list)"
        return ", ".join(str(path) for path in self.allowed)

    def display(self, path: Path) -> str:
        """How a vetted path appears in output: relative to the allowed directory holding it."""
        for allowed in self.allowed:
            if path == allowed:
                return str(allowed)
            if path.is_relative_to(allowed):
                relative = path.relative_to(allowed).as_posix()
                return relative if len(self.allowed) == 1 else f"{allowed}/{relative}"
        return path.name  # unreachable for vetted paths; never reveal a full outside path

    def contains(self, real: Path) -> bool:
        """Whether a real path is inside the allow-list (the scaffolder checks its open parent folder with it)."""
        return self._contains(real)

    def _contains(self, real: Path) -> bool:
        # Path.is_relative_to compares components, so /srv/app-evil is not inside /srv/app.
        return any(real.is_relative_to(allowed) for allowed in self.allowed)

    def _outside(self) -> PathRefused:
        return PathRefused(
            f"The path is outside the directories this server may use ({self.describe()}); "
            "pass a path inside one of them."
        )

    def _resolve(self, raw: str) -> Path:
        """The real path of ``raw`` (symlinks followed as far as they exist), checked for containment."""
        _check_text(raw)
        if not self.allowed:
            raise self._outside()
        candidate = Path(raw)
        if not candidate.is_absolute():
            candidate = self.allowed[0] / candidate
        try:
            real = Path(os.path.realpath(candidate))
        except (OSError, ValueError):
            raise PathRefused("The path cannot be resolved on this system.") from None
        if not self._contains(real):
            raise self._outside()
        return real

    def _stat(self, real: Path) -> os.stat_result:
        try:
            return os.stat(real)
        except FileNotFoundError:
            raise PathRefused(f"{self.display(real)} does not exist.") from None
        except OSError:
            raise PathRefused(f"{self.display(real)} cannot be read.") from None

    def directory(self, raw: str) -> Path:
        """An existing directory inside the allow-list."""
        real = self._resolve(raw)
        info = self._stat(real)
        if not stat.S_ISDIR(info.st_mode):
            raise PathRefused(f"{self.display(real)} is a file, not a folder; pass the folder to review.")
        return real

    def read_text(self, raw: str) -> tuple[Path, str]:
        """The real path and UTF-8 text of a regular file inside the allow-list."""
        real = self._resolve(raw)
        return real, self._read_vetted(real)

    def home_of(self, real: Path) -> Path:
        """The allowed directory holding a vetted path."""
        for allowed in self.allowed:
            if real.is_relative_to(allowed):
                return allowed
        raise self._outside()

    def _read_vetted(self, real: Path) -> str:
        shown = self.display(real)
        info = self._stat(real)
        if stat.S_ISDIR(info.st_mode):
            raise PathRefused(f"{shown} is a folder, not a file; use review_project for a folder.")
        home = self.home_of(real)
        # The check above named a path; what is read is decided again by the kernel: the file is opened beneath the
        # allowed directory's descriptor with no link followed in any component (a folder swapped for a link after
        # the check is refused), O_NONBLOCK (a FIFO swapped in cannot hang the open), fstat-checked as a regular
        # file with no other hard link (one to a file elsewhere would read it), and read with a bound.
        try:
            root = fsaccess.open_root(home)
        except fsaccess.AccessError:
            raise PathRefused(f"{shown} cannot be read.") from None
        try:
            vetted = fsaccess.read_beneath(
                root, real.relative_to(home).as_posix(), self.max_file_bytes, refuse_hardlinks=True
            )
        except fsaccess.AccessError as exc:
            raise PathRefused(self.refusal(shown, exc)) from None
        finally:
            os.close(root)
        if vetted.truncated:
            raise PathRefused(f"{shown} is larger than the {_size_text(self.max_file_bytes)} limit for one file.")
        try:
            return vetted.data.decode("utf-8")
        except UnicodeDecodeError:
            raise PathRefused(f"{shown} is not UTF-8 text, so it cannot be reviewed.") from None

    def open_directory(self, real: Path) -> int:
        """A descriptor of a vetted folder, opened beneath its allowed directory with no link followed (raises
        :class:`fsaccess.AccessError` when a component was swapped for a link since the check)."""
        root = fsaccess.open_root(self.home_of(real))
        try:
            relative = real.relative_to(self.home_of(real)).as_posix()
            return fsaccess.open_beneath(root, relative, fsaccess.DIRECTORY_FLAGS)
        finally:
            os.close(root)

    @staticmethod
    def refusal(shown: str, exc: fsaccess.AccessError) -> str:
        """One sentence for a refused read: the name the client knows and the short reason."""
        reason = exc.reason.replace("; not read", "")
        if exc.errno == errno.ELOOP:
            reason = "is a symbolic link or has one on its path, and links are not followed"
        elif exc.errno in (errno.EXDEV, errno.ENOENT, errno.ENOTDIR):
            reason = "changed while it was being opened"
        return f"{shown} {reason}, so it is not read."

    def new_directory(self, raw: str) -> Path:
        """Where a tool may create a folder: inside the allow-list, absent or empty, with plain new names.

        Returns the real path; nothing is created here. The caller writes next to it and renames into place, so an
        existing file is never overwritten.
        """
        real = self._resolve(raw)
        # Walk up to the deepest part that exists; every part below it is a name the tool would create.
        existing = real
        while True:
            try:
                info = os.lstat(existing)
                break
            except (FileNotFoundError, NotADirectoryError):
                existing = existing.parent
            except OSError:
                raise PathRefused(f"{self.display(existing)} cannot be used.") from None
        if stat.S_ISLNK(info.st_mode):
            # realpath resolves every link it can; one left over loops or cannot be followed.
            raise PathRefused(f"{self.display(existing)} is a symbolic link that cannot be resolved.")
        for part in real.relative_to(existing).parts:
            if not _NEW_NAME.fullmatch(part) or len(part.encode()) > _MAX_NAME_BYTES:
                raise PathRefused(
                    "A new folder name may contain only letters, digits, '.', '_' and '-' and must not start "
                    "with '.' or '-'."
                )
        shown = self.display(existing)
        if existing == real:
            if not stat.S_ISDIR(info.st_mode):
                raise PathRefused(f"{shown} already exists and is not a folder; choose a new folder.")
            if any(real.iterdir()):
                raise PathRefused(f"{shown} already exists and is not empty; choose a new folder.")
            if real in self.allowed:
                raise PathRefused(f"{shown} is an allowed directory itself; choose a new folder inside it.")
        elif not stat.S_ISDIR(info.st_mode):
            raise PathRefused(f"{shown} is not a folder, so no folder can be created under it.")
        return real
