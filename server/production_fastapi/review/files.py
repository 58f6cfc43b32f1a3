"""Which files a review reads: Python sources, plus the deployment files text rules ask for.

Walks directories skipping the configured excludes (``.venv``, ``node_modules``, ``build``... by default) and what
each directory's ``.gitignore`` ignores (plain patterns, ``/``-anchored ones and ``dir/`` ones; ``!`` negations
are not honoured, which can only skip a file, never review a stray one). A file named explicitly on the command line
is always reviewed, like ruff does; so is a folder named explicitly that the configuration excludes (only the
default excludes still apply inside it).
"""

from __future__ import annotations

import errno
import fnmatch
import functools
import os
import re
import stat
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

from production_fastapi.fsaccess import (
    AUX_LIMIT,
    AccessError,
    Vetted,
    check_deadline,
    open_dir_at,
    open_root,
    read_at,
    read_path,
)
from production_fastapi.review.config import (
    DEFAULT_EXCLUDE,
    DEFAULT_MAX_FILE_SIZE,
    Config,
    DirectoryMarks,
    find_config,
    with_targets,
)
from production_fastapi.review.targets import Targets

__all__ = ["ConfigLookup", "Discovered", "FileKind", "GitIgnore", "classify", "discover", "text_globs"]

FileKind = Literal["python", "text"]
PYTHON_SUFFIXES = (".py", ".pyw")


#: Folders deeper than this below a reviewed folder are reported, not walked (a planted 1,500-level tree would
#: otherwise exhaust the stack or the path length); real projects stay under 30.
MAX_DEPTH = 128
#: Lines of one .gitignore that are applied (real ones have a few hundred at most).
MAX_GITIGNORE_LINES = 5000
#: The most bytes read of one file: the configured max-file-size decides what is reviewed, this bounds memory for
#: a file that only claims to be source (a sparse 10 GB ``main.py``).
READ_CAP = 8 * DEFAULT_MAX_FILE_SIZE


@dataclass(frozen=True, slots=True)
class Discovered:
    """A file to review, already read through the descriptor that was vetted (nothing is opened by name later)."""

    path: Path
    kind: FileKind
    #: The reviewed path it was found under: the project root when nothing else marks one.
    origin: Path
    vetted: Vetted
    #: Where ``--fix`` writes it back: ``relative`` (no links followed) beneath the folder ``anchor``.
    anchor: Path
    relative: str


_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f]")


def shown(path: Path) -> str:
    """A path for an error line: control characters escaped, so a planted name cannot break the line in two or
    write to the terminal."""
    text = str(path)
    if _UNPRINTABLE.search(text):
        return _UNPRINTABLE.sub(lambda match: f"\\x{ord(match.group()):02x}", text)
    return text


def _python_shebang(data: bytes) -> bool:
    first = data[:200].split(b"\n", 1)[0]
    return first.startswith(b"#!") and b"python" in first


def classify(path: Path, text_globs: Sequence[str], *, explicit: bool = False, head: bytes = b"") -> FileKind | None:
    """Python, a text file some rule reads, or nothing we review.

    A file named explicitly (pre-commit passes every staged file) is also Python when it has a python shebang;
    anything else (README.md, pyproject.toml with no rule reading it) is skipped, not parsed as Python. ``head`` is
    the start of the file's bytes, for the shebang.
    """
    name = path.name
    if name.endswith(PYTHON_SUFFIXES):
        return "python"
    if any(fnmatch.fnmatchcase(name, glob) for glob in text_globs):
        return "text"
    if explicit and "." not in name and _python_shebang(head):
        return "python"
    return None


@dataclass(frozen=True, slots=True)
class GitIgnore:
    """The simple subset of one ``.gitignore``: enough to skip generated and vendored trees."""

    base: Path
    patterns: tuple[tuple[str, bool, bool], ...]  # (pattern, anchored, directory only)

    @classmethod
    def read(cls, directory: Path, dir_fd: int, errors: list[str]) -> GitIgnore | None:
        """The ``.gitignore`` in the open folder ``dir_fd``: a regular file, not a link, at most 1 MB (a FIFO, a
        link to /dev/zero or to a file elsewhere is reported and not read)."""
        try:
            text = read_at(dir_fd, ".gitignore", AUX_LIMIT, strict=True).data.decode("utf-8", errors="replace")
        except AccessError as exc:
            if exc.errno != errno.ENOENT:
                errors.append(f"{shown(directory / '.gitignore')}: {exc}; its patterns are not applied")
            return None
        patterns: list[tuple[str, bool, bool]] = []
        lines = text.splitlines()
        if len(lines) > MAX_GITIGNORE_LINES:
            # Each pattern is matched against every entry below: a planted 100,000-line file would make the walk
            # crawl. Applying fewer patterns can only review more files, never hide one.
            errors.append(
                f"{shown(directory / '.gitignore')}: more than {MAX_GITIGNORE_LINES:,} lines; only the first "
                f"{MAX_GITIGNORE_LINES:,} are applied"
            )
            lines = lines[:MAX_GITIGNORE_LINES]
        for raw in lines:
            line = raw.strip()
            if not line or line.startswith(("#", "!")):
                continue
            dir_only = line.endswith("/")
            line = line.rstrip("/")
            anchored = "/" in line
            patterns.append((line.lstrip("/"), anchored, dir_only))
        return cls(directory, tuple(patterns)) if patterns else None

    def ignores(self, path: Path, is_dir: bool) -> bool:
        try:
            relative = path.relative_to(self.base).as_posix()
        except ValueError:
            return False
        for pattern, anchored, dir_only in self.patterns:
            if dir_only and not is_dir:
                continue
            if anchored:
                if fnmatch.fnmatchcase(relative, pattern) or fnmatch.fnmatchcase(relative, pattern.removeprefix("**/")):
                    return True
            elif fnmatch.fnmatchcase(path.name, pattern):
                return True
        return False


@dataclass(slots=True)
class _Walk:
    """What one walk carries down: the settings, and where refusals go."""

    config: Config
    text_globs: Sequence[str]
    origin: Path
    errors: list[str]
    limit: int
    deadline: float | None = None


def _walk(
    walk: _Walk, dir_fd: int, directory: Path, relative: str, *, below: str, ignores: tuple[GitIgnore, ...]
) -> Iterator[Discovered]:
    """Depth-first, sorted, excluded entries pruned early, every folder opened through its parent's descriptor
    without following links, every file read at once through the descriptor opened for it. ``relative`` is the
    folder's path from the config root (POSIX, "" at the root), built by concatenation: no per-entry resolution;
    ``below`` is its path from the walked folder (where ``--fix`` finds it again)."""
    check_deadline(walk.deadline)
    own = GitIgnore.read(directory, dir_fd, walk.errors)
    if own is not None:
        ignores = (*ignores, own)
    try:
        with os.scandir(dir_fd) as listing:
            entries = sorted(listing, key=lambda entry: entry.name)
    except OSError as exc:
        walk.errors.append(f"{shown(directory)}: cannot list ({exc.strerror or exc}); not reviewed")
        return
    config = walk.config
    for entry in entries:
        name = entry.name
        entry_relative = f"{relative}/{name}" if relative else name
        if config.excludes_entry(name, entry_relative):
            continue
        try:
            is_dir = entry.is_dir(follow_symlinks=False)
            is_file = not is_dir and entry.is_file(follow_symlinks=False)
        except OSError:
            continue
        path = directory / name
        if ignores and any(ignore.ignores(path, is_dir) for ignore in ignores):
            continue
        entry_below = f"{below}/{name}" if below else name
        if is_dir:
            if entry_below.count("/") >= MAX_DEPTH:
                walk.errors.append(f"{shown(path)}: more than {MAX_DEPTH} folders deep; not reviewed below this point")
                continue
            try:
                child = open_dir_at(dir_fd, name)
            except AccessError as exc:
                walk.errors.append(f"{shown(path)}: {exc}; not reviewed")
                continue
            try:
                yield from _walk(walk, child, path, entry_relative, below=entry_below, ignores=ignores)
            finally:
                os.close(child)
            continue
        kind = classify(path, walk.text_globs)
        if kind is None:
            continue
        if not is_file:
            # A link or a special file with a reviewable name: links are never followed inside a reviewed folder
            # (name the target to review it), and a FIFO or device is never opened.
            what = (
                "is a symbolic link; not followed inside a reviewed folder"
                if entry.is_symlink()
                else ("is not a regular file; not read")
            )
            walk.errors.append(f"{shown(path)}: {what}")
            continue
        try:
            vetted = read_at(dir_fd, name, walk.limit)
        except AccessError as exc:
            walk.errors.append(f"{shown(path)}: {exc}")
            continue
        yield Discovered(path, kind, walk.origin, vetted, walk.origin, entry_below)


@functools.cache
def text_globs() -> tuple[str, ...]:
    """The file names some text rule reads (Dockerfile, gunicorn.conf.py...)."""
    from production_fastapi.rules import all_rules

    return tuple(dict.fromkeys(glob for rule in all_rules() for glob in rule.files))


def discover(
    paths: Iterable[Path],
    config_for: ConfigLookup,
    text_globs: Sequence[str],
    *,
    deadline: float | None = None,
    open_folder: Callable[[Path], int] = open_root,
) -> tuple[list[Discovered], list[str]]:
    """Every file to review under ``paths`` (deduplicated, in a stable order), read, and one error per bad path.

    ``deadline`` (``time.monotonic()``) raises :class:`DeadlineExceeded` when the walk goes past it.
    ``open_folder`` opens a named folder: the user's names are followed; the MCP server opens beneath its allowed
    directory without following links, so a folder swapped after its check is refused, not walked."""
    found: dict[Path, Discovered] = {}
    errors: list[str] = []
    for path in paths:
        try:
            info = os.stat(path)
        except OSError as exc:
            reason = "no such file or directory" if exc.errno == errno.ENOENT else (exc.strerror or str(exc)).lower()
            errors.append(f"{shown(path)}: {reason}")
            continue
        config = config_for(path)
        limit = max(config.max_file_size, READ_CAP)
        if stat.S_ISDIR(info.st_mode):
            start = config.relative(path)
            walk_config = config
            if start != "." and config.is_excluded(path):
                # The user named an excluded folder on purpose: review it, skipping only what is never code.
                walk_config = replace(config, exclude=DEFAULT_EXCLUDE, extend_exclude=())
            try:
                root_fd = open_folder(path)
            except AccessError as exc:
                errors.append(f"{shown(path)}: {exc}; not reviewed")
                continue
            walk = _Walk(walk_config, text_globs, path, errors, limit, deadline)
            try:
                for item in _walk(walk, root_fd, path, "" if start == "." else start, below="", ignores=()):
                    found.setdefault(item.path, item)
            finally:
                os.close(root_fd)
        else:
            kind = classify(path, text_globs)
            if kind is None and "." not in path.name:
                kind = "python"  # maybe: decided by the shebang once read
            if kind is None:
                continue
            try:
                vetted = read_path(path, limit)  # a file the user names is read even through a link, like ruff
            except AccessError as exc:
                errors.append(f"{shown(path)}: {exc}")
                continue
            kind = classify(path, text_globs, explicit=True, head=vetted.data)
            if kind is not None:
                found.setdefault(path, Discovered(path, kind, path.parent, vetted, path.parent, path.name))
    return list(found.values()), errors


class ConfigLookup:
    """Finds (and remembers) the configuration for each reviewed path's directory.

    ``override`` pins one configuration for everything; ``transform`` applies command-line overrides to each
    configuration found on disk.
    """

    def __init__(self, override: Config | None = None, *, transform: Callable[[Config], Config] | None = None) -> None:
        self._override = override if override is None else with_targets(override)
        self._transform = transform
        self._by_dir: dict[Path, Config] = {}
        self._by_parent: dict[tuple[Path, Path | None], Config] = {}
        self._marks: DirectoryMarks = {}
        #: The declared library versions of each project root, read once per run.
        self._targets: dict[Path, Targets] = {}

    def for_file(self, path: Path, origin: Path | None = None) -> Config:
        """:meth:`__call__` for a path known to be a file: remembered per (parent directory, origin) as spelled,
        so the thousands of files of a run cost one dictionary lookup each instead of a stat and a resolve."""
        key = (path.parent, origin)
        config = self._by_parent.get(key)
        if config is None:
            config = self._by_parent[key] = self(path, origin)
        return config

    def __call__(self, path: Path, origin: Path | None = None) -> Config:
        """The configuration for ``path``; ``origin`` is the reviewed path it was found under (the fallback root)."""
        if self._override is not None:
            return self._override
        directory = path if path.is_dir() else path.parent
        directory = directory.resolve()
        config = self._by_dir.get(directory)
        if config is None:
            fallback = origin if origin is not None else directory
            config = find_config(directory, fallback if fallback.is_dir() else fallback.parent, marks=self._marks)
            config = with_targets(config, self._targets)
            if self._transform is not None:
                config = self._transform(config)
            self._by_dir[directory] = config
        return config
