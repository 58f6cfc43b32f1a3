"""Which files a review reads: Python sources, plus the deployment files text rules ask for.

Walks directories skipping the configured excludes (``.venv``, ``node_modules``, ``build``... by default) and what
each directory's ``.gitignore`` ignores (plain patterns, ``/``-anchored ones and ``dir/`` ones; ``!`` negations
are not honoured, which can only skip a file, never review a stray one). A file named explicitly on the command line
is always reviewed, like ruff does; so is a folder named explicitly that the configuration excludes (only the
default excludes still apply inside it).
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

from production_fastapi.review.config import DEFAULT_EXCLUDE, Config, DirectoryMarks, find_config, with_targets
from production_fastapi.review.targets import Targets

__all__ = ["ConfigLookup", "Discovered", "FileKind", "GitIgnore", "classify", "discover"]

FileKind = Literal["python", "text"]
PYTHON_SUFFIXES = (".py", ".pyw")


@dataclass(frozen=True, slots=True)
class Discovered:
    path: Path
    kind: FileKind
    #: The reviewed path it was found under: the project root when nothing else marks one.
    origin: Path


def _python_shebang(path: Path) -> bool:
    try:
        with path.open("rb") as handle:
            first = handle.readline(200)
    except OSError:
        return False
    return first.startswith(b"#!") and b"python" in first


def classify(path: Path, text_globs: Sequence[str], *, explicit: bool = False) -> FileKind | None:
    """Python, a text file some rule reads, or nothing we review.

    A file named explicitly (pre-commit passes every staged file) is also Python when it has a python shebang;
    anything else (README.md, pyproject.toml with no rule reading it) is skipped, not parsed as Python.
    """
    name = path.name
    if name.endswith(PYTHON_SUFFIXES):
        return "python"
    if any(fnmatch.fnmatchcase(name, glob) for glob in text_globs):
        return "text"
    if explicit and "." not in name and _python_shebang(path):
        return "python"
    return None


@dataclass(frozen=True, slots=True)
class GitIgnore:
    """The simple subset of one ``.gitignore``: enough to skip generated and vendored trees."""

    base: Path
    patterns: tuple[tuple[str, bool, bool], ...]  # (pattern, anchored, directory only)

    @classmethod
    def read(cls, directory: Path) -> GitIgnore | None:
        try:
            text = (directory / ".gitignore").read_text(encoding="utf-8", errors="replace")
        except OSError:
            return None
        patterns: list[tuple[str, bool, bool]] = []
        for raw in text.splitlines():
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


def _walk(
    directory: Path,
    relative: str,
    config: Config,
    text_globs: Sequence[str],
    ignores: tuple[GitIgnore, ...],
) -> Iterator[Discovered]:
    """Depth-first, sorted, excluded entries pruned early. ``relative`` is the directory's path from the config
    root (POSIX, "" at the root), built by concatenation: no per-entry path resolution."""
    own = GitIgnore.read(directory)
    if own is not None:
        ignores = (*ignores, own)
    try:
        entries = sorted(os.scandir(directory), key=lambda entry: entry.name)
    except OSError:
        return
    for entry in entries:
        name = entry.name
        entry_relative = f"{relative}/{name}" if relative else name
        if config.excludes_entry(name, entry_relative):
            continue
        try:
            is_dir = entry.is_dir(follow_symlinks=False)
            is_file = not is_dir and entry.is_file(follow_symlinks=True)
        except OSError:
            continue
        path = Path(entry.path)
        if ignores and any(ignore.ignores(path, is_dir) for ignore in ignores):
            continue
        if is_dir:
            yield from _walk(path, entry_relative, config, text_globs, ignores)
        elif is_file:
            kind = classify(path, text_globs)
            if kind is not None:
                yield Discovered(path, kind, directory)


def discover(
    paths: Iterable[Path], config_for: ConfigLookup, text_globs: Sequence[str]
) -> tuple[list[Discovered], list[str]]:
    """Every file to review under ``paths`` (deduplicated, in a stable order), and one error per bad path."""
    found: dict[Path, Discovered] = {}
    errors: list[str] = []
    for path in paths:
        if not path.exists():
            errors.append(f"{path}: no such file or directory")
            continue
        config = config_for(path)
        if path.is_dir():
            start = config.relative(path)
            walk_config = config
            if start != "." and config.is_excluded(path):
                # The user named an excluded folder on purpose: review it, skipping only what is never code.
                walk_config = replace(config, exclude=DEFAULT_EXCLUDE, extend_exclude=())
            for item in _walk(path, "" if start == "." else start, walk_config, text_globs, ()):
                found.setdefault(item.path, Discovered(item.path, item.kind, path))
        else:
            kind = classify(path, text_globs, explicit=True)
            if kind is not None:
                found.setdefault(path, Discovered(path, kind, path.parent))
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
