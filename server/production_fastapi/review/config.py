"""``[tool.production-fastapi]`` in pyproject.toml: which rules run where, which files are skipped.

Keys (all optional)::

    [tool.production-fastapi]
    select = ["PF"]                 # code prefixes: "PF", "PF7", "PF702"; "ALL" means every rule, opt-in ones too
    ignore = ["PF201"]
    extend-select = ["PF203"]       # added to select (handy when select keeps its default)
    per-file-ignores = { "tests/**" = ["PF201"], "scripts/*.py" = ["PF2"] }
    exclude = [...]                 # replaces the default excludes (.venv, node_modules, build, ...)
    extend-exclude = ["migrations"] # added to them
    fail-on = "warning"             # lowest severity that makes the exit code 1: error | warning | info
    max-file-size = 2000000         # bytes; larger files are reported as PF000 and not parsed

Between a selector in ``select`` and one in ``ignore``, the more specific (longer) one wins, as in ruff:
``select = ["PF7"]`` with ``ignore = ["PF70"]`` and ``select = ["PF702"]`` keeps PF702 only.
The configuration is found from the reviewed path upward: the nearest pyproject.toml with the table wins.

Opt-in rules (``Rule.opt_in``: style, opinion, or known to be noisy) run only when a selector names them by their
full code (``PF203``, in ``select`` or ``extend-select``) or is ``ALL``. A prefix (``PF``, ``PF2``) selects the
default rules under it and no opt-in rule, like ruff's preview rules under ``explicit-preview-rules``: widening a
selection to a whole area never switches on the noisy rules in it by surprise.
"""

from __future__ import annotations

import fnmatch
import functools
import hashlib
import json
import os
import re
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import Any, cast

from production_fastapi.fsaccess import AUX_LIMIT, AccessError, read_path
from production_fastapi.rules.base import SEVERITIES, Severity

#: ``((library, specifier), ...)``: see :mod:`production_fastapi.review.targets` (which imports ``packaging``, so it
#: is imported only when versions are judged).
Targets = tuple[tuple[str, str], ...]

__all__ = [
    "DEFAULT_EXCLUDE",
    "DEFAULT_MAX_FILE_SIZE",
    "Config",
    "ConfigError",
    "find_config",
    "load_config",
    "parse_selectors",
    "with_targets",
]

TABLE = "production-fastapi"

#: Directories and files never worth reviewing: environments, caches, builds, vendored code.
DEFAULT_EXCLUDE: tuple[str, ...] = (
    ".bzr",
    ".direnv",
    ".eggs",
    ".git",
    ".hg",
    ".mypy_cache",
    ".nox",
    ".pants.d",
    ".pytype",
    ".ruff_cache",
    ".pytest_cache",
    ".svn",
    ".tox",
    ".venv",
    "venv",
    ".production-fastapi-cache",
    "__pycache__",
    "__pypackages__",
    "_build",
    "buck-out",
    "build",
    "dist",
    "node_modules",
    "site-packages",
    "*.egg-info",
)

DEFAULT_MAX_FILE_SIZE = 2_000_000
_SELECTOR = re.compile(r"PF[0-9]{0,3}|ALL")
_KEYS = {
    "select",
    "ignore",
    "extend-select",
    "per-file-ignores",
    "exclude",
    "extend-exclude",
    "fail-on",
    "max-file-size",
}


class ConfigError(Exception):
    """The configuration is invalid; the message is one sentence naming the file and key."""


def parse_selectors(values: Iterable[str], where: str) -> tuple[str, ...]:
    """Validate rule selectors (``PF``, ``PF7``, ``PF702``, ``ALL``); accepts comma-separated strings too."""
    selectors: list[str] = []
    for value in values:
        for part in str(value).split(","):
            selector = part.strip().upper()
            if not selector:
                continue
            if not _SELECTOR.fullmatch(selector):
                raise ConfigError(f"{where}: {part.strip()!r} is not a rule selector (PF, PF7, PF702 or ALL)")
            selectors.append(selector)
    return tuple(selectors)


def _specificity(code: str, selectors: Sequence[str], *, opt_in: bool = False) -> int:
    """Length of the longest selector matching the code; -1 when none does. ``ALL`` ranks as ``PF``.

    For an opt-in rule only its full code and ``ALL`` match (see the module docstring)."""
    return max(
        (
            2 if s == "ALL" else len(s)
            for s in selectors
            if s == "ALL" or (code == s if opt_in else code.startswith(s))
        ),
        default=-1,
    )


@dataclass(frozen=True, slots=True)
class Config:
    """One resolved configuration. ``root`` is the directory patterns are relative to."""

    root: Path
    source: Path | None = None
    select: tuple[str, ...] = ("PF",)
    ignore: tuple[str, ...] = ()
    extend_select: tuple[str, ...] = ()
    per_file_ignores: tuple[tuple[str, tuple[str, ...]], ...] = ()
    exclude: tuple[str, ...] = DEFAULT_EXCLUDE
    extend_exclude: tuple[str, ...] = ()
    fail_on: Severity = "warning"
    max_file_size: int = DEFAULT_MAX_FILE_SIZE
    #: The project the files belong to when it differs from ``root`` (a service with its own pyproject.toml inside
    #: a monorepo configured at the top): project rules and module names work per project.
    project: Path | None = None
    #: The library versions the project declares (``review.dependencies``); empty means "assume current releases".
    targets: Targets = ()
    _selected_cache: dict[str, bool] = field(default_factory=dict, compare=False, repr=False)

    def with_overrides(
        self,
        *,
        select: Sequence[str] | None = None,
        ignore: Sequence[str] | None = None,
        extend_select: Sequence[str] | None = None,
        fail_on: Severity | None = None,
    ) -> Config:
        """The command line wins over the file: ``--select`` replaces, ``--ignore`` adds."""
        changes: dict[str, Any] = {"_selected_cache": {}}
        if select is not None:
            changes["select"] = parse_selectors(select, "--select")
        if ignore is not None:
            changes["ignore"] = self.ignore + parse_selectors(ignore, "--ignore")
        if extend_select is not None:
            changes["extend_select"] = self.extend_select + parse_selectors(extend_select, "--extend-select")
        if fail_on is not None:
            changes["fail_on"] = fail_on
        return replace(self, **changes)

    def is_selected(self, code: str, opt_in: bool = False) -> bool:
        """Whether a rule runs at all (before per-file ignores); ``opt_in`` for a rule outside the default set."""
        key = f"{code}?" if opt_in else code
        cached = self._selected_cache.get(key)
        if cached is None:
            chosen = _specificity(code, self.select + self.extend_select, opt_in=opt_in)
            cached = chosen >= 0 and chosen > _specificity(code, self.ignore)
            self._selected_cache[key] = cached
        return cached

    @property
    def project_root(self) -> Path:
        return self.project or self.root

    def relative(self, path: Path) -> str:
        """The path relative to the config root, POSIX style, for pattern matching (absolute when outside)."""
        resolved = resolve_path(path)
        try:
            return resolved.relative_to(resolve_path(self.root)).as_posix()
        except ValueError:
            return resolved.as_posix()

    def ignored_for(self, path: Path) -> tuple[str, ...]:
        """The selectors per-file-ignores switch off for this file."""
        if not self.per_file_ignores:
            return ()
        relative = self.relative(path)
        ignored: list[str] = []
        for pattern, selectors in self.per_file_ignores:
            if _glob_match(relative, pattern):
                ignored.extend(selectors)
        return tuple(ignored)

    def is_excluded(self, path: Path) -> bool:
        """Whether the path (file or directory) matches an exclude pattern, by any component or as a whole."""
        relative = self.relative(path)
        patterns = self.exclude + self.extend_exclude
        return any(_excluded_by(relative, pattern) for pattern in patterns)

    def excludes_entry(self, name: str, relative: str) -> bool:
        """The walk's fast path: is this directory entry excluded, given its name and its path relative to the root?

        Its parents were checked on the way down, so a bare pattern only needs the entry's own name.
        """
        names, paths = _compiled_excludes(self.exclude + self.extend_exclude)
        if names is not None and names.match(name):
            return True
        return any(_excluded_by(relative, pattern) for pattern in paths)

    def fingerprint(self) -> str:
        """A stable digest of what affects findings: part of the cache key."""
        payload = {
            "select": self.select,
            "ignore": self.ignore,
            "extend_select": self.extend_select,
            "per_file_ignores": self.per_file_ignores,
            "max_file_size": self.max_file_size,
            "targets": self.targets,
        }
        return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]


@functools.cache
def resolve_directory(directory: str) -> Path:
    """``Path(directory).resolve()``, remembered for the process (a run asks for the same few directories)."""
    return Path(directory).resolve()


def resolve_path(path: Path) -> Path:
    """``path.resolve()`` with the directory part memoized: a run resolves thousands of files in a few hundred
    directories, and resolving walks every component with a system call. The last component is taken from the
    absolute path: ``Path(".").name`` is empty, and ``.`` must resolve to the working directory itself."""
    head, tail = os.path.split(os.path.abspath(path))
    return resolve_directory(head) / tail if tail else resolve_directory(head)


@functools.cache
def _compiled_excludes(patterns: tuple[str, ...]) -> tuple[re.Pattern[str] | None, tuple[str, ...]]:
    """Bare patterns as one compiled regex over a name; patterns with a slash kept for path matching."""
    bare = [p.strip().rstrip("/") for p in patterns if "/" not in p.strip().rstrip("/").removeprefix("./")]
    paths = tuple(p for p in patterns if "/" in p.strip().rstrip("/").removeprefix("./"))
    names = re.compile("|".join(f"(?:{fnmatch.translate(p)})" for p in bare if p)) if bare else None
    return names, paths


def _glob_match(relative: str, pattern: str) -> bool:
    """``fnmatch`` on the relative path, with ``**/`` also matching no directory and bare names matching anywhere."""
    pattern = pattern.strip().rstrip("/")
    if pattern.startswith("./"):
        pattern = pattern[2:]
    if fnmatch.fnmatchcase(relative, pattern):
        return True
    if pattern.startswith("**/") and fnmatch.fnmatchcase(relative, pattern[3:]):
        return True
    if "/" not in pattern:
        return fnmatch.fnmatchcase(PurePosixPath(relative).name, pattern)
    return False


def _excluded_by(relative: str, pattern: str) -> bool:
    pattern = pattern.strip().rstrip("/")
    if pattern.startswith("./"):
        pattern = pattern[2:]
    if "/" not in pattern:
        return any(fnmatch.fnmatchcase(part, pattern) for part in PurePosixPath(relative).parts)
    parts = PurePosixPath(relative).parts
    # A pattern with a slash matches the path or any of its parent directories (excluding `a/b` excludes `a/b/c.py`).
    return any(_glob_match("/".join(parts[: i + 1]), pattern) for i in range(len(parts)))


def _string_list(table: Mapping[str, Any], key: str, where: str) -> tuple[str, ...] | None:
    if key not in table:
        return None
    value = table[key]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where}: {key} must be a list of strings")
    return tuple(cast(list[str], value))


def config_from_table(table: Mapping[str, Any], root: Path, source: Path | None) -> Config:
    """Build a :class:`Config` from the ``[tool.production-fastapi]`` table, validating every key."""
    where = f"{source or 'configuration'} [tool.{TABLE}]"
    unknown = sorted(set(table) - _KEYS)
    if unknown:
        raise ConfigError(f"{where}: unknown key {unknown[0]!r} (known: {', '.join(sorted(_KEYS))})")
    config = Config(root=root, source=source)
    changes: dict[str, Any] = {}
    for key, attr in (("select", "select"), ("ignore", "ignore"), ("extend-select", "extend_select")):
        values = _string_list(table, key, where)
        if values is not None:
            changes[attr] = parse_selectors(values, f"{where} {key}")
    for key, attr in (("exclude", "exclude"), ("extend-exclude", "extend_exclude")):
        values = _string_list(table, key, where)
        if values is not None:
            changes[attr] = values
    if "per-file-ignores" in table:
        raw = table["per-file-ignores"]
        if not isinstance(raw, dict):
            raise ConfigError(f"{where}: per-file-ignores must be a table of pattern = [codes]")
        entries: list[tuple[str, tuple[str, ...]]] = []
        for pattern, codes in raw.items():
            if not isinstance(codes, list) or not all(isinstance(c, str) for c in codes):
                raise ConfigError(f"{where}: per-file-ignores {pattern!r} must be a list of codes")
            entries.append((pattern, parse_selectors(codes, f"{where} per-file-ignores {pattern!r}")))
        changes["per_file_ignores"] = tuple(entries)
    if "fail-on" in table:
        fail_on = table["fail-on"]
        if fail_on not in SEVERITIES:
            raise ConfigError(f"{where}: fail-on must be one of {', '.join(SEVERITIES)}, got {fail_on!r}")
        changes["fail_on"] = fail_on
    if "max-file-size" in table:
        size = table["max-file-size"]
        if not isinstance(size, int) or isinstance(size, bool) or size <= 0:
            raise ConfigError(f"{where}: max-file-size must be a positive number of bytes")
        changes["max_file_size"] = size
    return replace(config, **changes)


def load_config(pyproject: Path, *, follow: bool = True) -> Config:
    """Read one pyproject.toml (its table may be absent: then the defaults apply, rooted there).

    ``follow`` False (a file found by looking upward, not one the user named) refuses a symbolic link. Either way
    a FIFO or device is refused before reading and the read stops at 1 MB. Memoized on the file's path, size and
    modification time: every directory of a run asks for the same file.
    """
    try:
        info = pyproject.stat() if follow else pyproject.lstat()
    except OSError as exc:
        raise ConfigError(f"cannot read {pyproject}: {exc.strerror or exc}") from exc
    return _load_config(pyproject, info.st_mtime_ns, info.st_size, follow)


def read_pyproject(pyproject: Path, *, follow: bool) -> str:
    """The text of a pyproject.toml, read through one vetted descriptor and bounded; ConfigError otherwise."""
    try:
        vetted = read_path(pyproject, AUX_LIMIT, follow=follow, strict=True)
        return vetted.data.decode("utf-8")
    except AccessError as exc:
        raise ConfigError(f"cannot read {pyproject}: it {exc}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"cannot read {pyproject}: {exc}") from None


def parse_toml(text: str, where: Path | str) -> dict[str, Any]:
    """``tomllib.loads`` with every failure as one ConfigError line (a 100,000-deep array exhausts the stack)."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{where} is not valid TOML: {exc}") from None
    except RecursionError:
        raise ConfigError(f"{where} nests arrays or tables too deeply to read") from None


@functools.lru_cache(maxsize=64)
def _load_config(pyproject: Path, _mtime: int, _size: int, follow: bool) -> Config:
    data = parse_toml(read_pyproject(pyproject, follow=follow), pyproject)
    table = data.get("tool", {}).get(TABLE, {})
    if not isinstance(table, dict):
        raise ConfigError(f"{pyproject}: [tool.{TABLE}] must be a table")
    return config_from_table(table, pyproject.parent, pyproject)


def _has_table(pyproject: Path) -> bool:
    try:
        text = read_pyproject(pyproject, follow=False)
    except ConfigError:
        return False
    # Cheap check first: most pyproject files in the wild have no table of ours and need no TOML parse.
    return f"tool.{TABLE}" in text or f'tool."{TABLE}"' in text


#: Files that mark the top of a project when no pyproject.toml carries our table.
_PROJECT_MARKERS = ("pyproject.toml", "setup.py", "setup.cfg", ".git")


#: What a directory says about configuration: (holds a pyproject.toml with our table, holds a project marker).
DirectoryMarks = dict[Path, tuple[bool, bool]]


def find_config(start: Path, fallback_root: Path | None = None, *, marks: DirectoryMarks | None = None) -> Config:
    """The configuration that applies to ``start``: the nearest pyproject.toml upward with our table.

    Without one, the defaults apply, rooted at the nearest project marker upward (pyproject.toml, setup.py,
    setup.cfg, .git), else at ``fallback_root``, else at ``start`` itself. The nearest marker also delimits the
    project for the project-wide rules (``Config.project_root``), even under a configuration higher up.

    ``marks`` remembers what each directory holds across calls of one run: the directories of a large tree share
    their parents, and each look costs a few system calls (tens of thousands for a 7,000-file review).
    """
    resolved = start.resolve()
    directory = resolved if resolved.is_dir() else resolved.parent
    marks = {} if marks is None else marks
    marker_root: Path | None = None
    for candidate in (directory, *directory.parents):
        known = marks.get(candidate)
        if known is None:
            known = marks[candidate] = _directory_marks(candidate)
        configured, marked = known
        if configured:
            # A service with its own marker inside a configured monorepo is still its own project.
            return replace(load_config(candidate / "pyproject.toml", follow=False), project=marker_root)
        if marker_root is None and marked:
            marker_root = candidate
    return Config(root=marker_root or (fallback_root.resolve() if fallback_root else directory))


def with_targets(config: Config, memo: dict[Path, Targets] | None = None) -> Config:
    """``config`` with the library versions its project declares (read once per project root with ``memo``)."""
    from production_fastapi.review.dependencies import declared_targets

    root = config.project_root
    if memo is None:
        return replace(config, targets=declared_targets(root))
    targets = memo.get(root)
    if targets is None:
        targets = memo[root] = declared_targets(root)
    return replace(config, targets=targets)


def _directory_marks(directory: Path) -> tuple[bool, bool]:
    pyproject = directory / "pyproject.toml"
    configured = _has_table(pyproject)
    return configured, configured or any((directory / marker).exists() for marker in _PROJECT_MARKERS)
