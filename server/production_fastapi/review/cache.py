"""The result cache: a file whose content, path, rule set and configuration are unchanged is not checked again.

Keys hash the file's bytes (not its mtime): a checkout, a ``touch`` or a CI restore cannot fool it. One JSON file per
(rule-set version, configuration) pair; JSON, not pickle, so a cache file cannot run code when loaded. A corrupt or
foreign cache file is ignored and rewritten.

**Where it lives.** Not in the reviewed folder: a repository (or a package unpacked for a look) must not get a
folder written into it, and a cloned repository must not be able to ship a cache whose emptied entries hide
findings, nor a ``.production-fastapi-cache`` link that sends our writes elsewhere. The default is a per-user
folder, ``$XDG_CACHE_HOME/production-fastapi`` (``~/.cache/production-fastapi`` without it), with one subfolder
per project named by a hash of the project root's real path. ``--cache-dir DIR`` or ``PRODUCTION_FASTAPI_CACHE_DIR``
choose another folder, as ``RUFF_CACHE_DIR`` does for ruff; ``--no-cache`` turns it off.

Everything below the chosen folder is opened through descriptors without following links, read with a bound,
and written under a random ``O_EXCL`` name renamed into place; the cache's ``.gitignore`` and ``CACHEDIR.TAG`` are
created only where no name (not even a dangling link) exists yet.

**Signed.** Keys are content hashes anyone can compute, so a cache file someone else wrote (a ``--cache-dir``
inside a checkout, a restored CI cache) could carry emptied entries for files it knows. Each cache file therefore
starts with an HMAC of its body under a per-user key (``key`` in the per-user folder, 32 random bytes, mode 0600,
created once); a file whose MAC does not verify is ignored and rewritten. Without a usable key there is no cache.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import hashlib
import hmac
import json
import os
import secrets
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from production_fastapi.fsaccess import (
    DIRECTORY_FLAGS,
    AccessError,
    create_exclusive,
    open_dir_at,
    read_at,
    read_path,
    replace_at,
)
from production_fastapi.review.config import Config
from production_fastapi.review.engine import FileOutcome
from production_fastapi.review.findings import Finding
from production_fastapi.rules import ruleset_version
from production_fastapi.rules.base import Rule

__all__ = ["CACHE_DIR_ENV", "CACHE_DIR_NAME", "Cache", "cache_location", "content_key"]

#: The folder name of an explicitly chosen cache (``--cache-dir``) and of the per-user one.
CACHE_DIR_NAME = ".production-fastapi-cache"
CACHE_DIR_ENV = "PRODUCTION_FASTAPI_CACHE_DIR"
#: A cache file larger than this is not read (and is rewritten): 50,000 entries take a few MB.
_READ_LIMIT = 256 * 1024 * 1024
# 3: findings carry their fix applicability (2) and entries are signed (safe's change).
_FORMAT = 3
#: Above this many entries, those not used by the latest run are dropped when saving.
_MAX_ENTRIES = 50_000
_FIELDS = (
    "path",
    "line",
    "column",
    "code",
    "end_line",
    "end_column",
    "name",
    "severity",
    "message",
    "fixable",
    "fix_title",
    "fix_applicability",
)


def content_key(path: str, data: bytes, rules: Iterable[Rule], targets: Iterable[tuple[str, str]] = ()) -> str:
    """What a file's findings depend on besides the rule set and config: its path (findings carry it, per-file
    ignores and relative imports depend on it), its bytes, which rules apply to it, and the library versions its
    project declares (two projects under one configuration root may declare different ones)."""
    digest = hashlib.blake2b(digest_size=20)
    digest.update(path.encode("utf-8", "surrogatepass"))
    digest.update(b"\0")
    digest.update(data)
    digest.update(b"\0")
    digest.update(",".join(rule.code for rule in rules).encode())
    digest.update(b"\0")
    digest.update(";".join(f"{name}{spec}" for name, spec in targets).encode())
    return digest.hexdigest()


def _encode(outcome: FileOutcome) -> list[Any]:
    return [
        [[getattr(f, name) for name in _FIELDS] for f in outcome.findings],
        list(outcome.modules),
        outcome.parsed,
    ]


def _decode(entry: Any) -> FileOutcome | None:
    try:
        rows, modules, parsed = entry
        findings = [Finding(**dict(zip(_FIELDS, row, strict=True))) for row in rows]
        return FileOutcome(findings=findings, modules=tuple(modules), parsed=bool(parsed))
    except (TypeError, ValueError):
        return None


def user_cache_home() -> Path:
    """``$XDG_CACHE_HOME/production-fastapi``, else ``~/.cache/production-fastapi`` (the user's, never a checkout's)."""
    base = os.environ.get("XDG_CACHE_HOME", "").strip()
    home = Path(base) if base and Path(base).is_absolute() else Path.home() / ".cache"
    return home / "production-fastapi"


def cache_location(root: Path, chosen: Path | None) -> tuple[Path, tuple[str, ...]]:
    """Where the cache of the project at ``root`` goes: (a folder the user chose or owns, the subfolders below it
    that we create and open without following links)."""
    explicit = chosen or (Path(os.environ[CACHE_DIR_ENV]) if os.environ.get(CACHE_DIR_ENV, "").strip() else None)
    if explicit is not None:
        return explicit, ()
    digest = hashlib.blake2b(os.fsencode(os.path.realpath(root)), digest_size=10).hexdigest()
    return user_cache_home(), ("projects", f"{root.name[:40] or 'root'}-{digest}")


def _open_cache_dir(base: Path, below: tuple[str, ...], *, create: bool) -> int:
    """A descriptor of the cache folder: ``base`` is the user's (followed), ``below`` never follows a link."""
    if create:
        base.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(base, DIRECTORY_FLAGS)
    try:
        for part in below:
            if create:
                with contextlib.suppress(FileExistsError):
                    os.mkdir(part, 0o700, dir_fd=fd)
            child = open_dir_at(fd, part)
            os.close(fd)
            fd = child
    except BaseException:
        os.close(fd)
        raise
    return fd


@functools.cache
def _user_key(home: Path) -> bytes | None:
    """The per-user signing key, created on first use; None when it cannot be read or made (then no cache)."""
    path = home / "key"
    for _ in range(2):
        try:
            key = read_path(path, 64, follow=False, strict=True)
        except AccessError as exc:
            if exc.errno != errno.ENOENT:
                return None
        else:
            if len(key.data) == 32 and key.mode & 0o077 == 0:
                return key.data
            return None  # readable by others, or not ours: do not trust what it signed
        try:
            home.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd = os.open(home, DIRECTORY_FLAGS)
            try:
                create_exclusive(fd, "key", secrets.token_bytes(32), 0o600)
            finally:
                os.close(fd)
        except OSError:
            return None
    return None


def _sign(key: bytes, body: bytes) -> bytes:
    return hmac.new(key, body, hashlib.sha256).hexdigest().encode("ascii") + b"\n" + body


def _verified(key: bytes, data: bytes) -> bytes | None:
    mac, _, body = data.partition(b"\n")
    expected = hmac.new(key, body, hashlib.sha256).hexdigest().encode("ascii")
    return body if hmac.compare_digest(mac, expected) else None


class Cache:
    def __init__(
        self, location: tuple[Path, tuple[str, ...]], name: str, entries: dict[str, Any], *, usable: bool = True
    ) -> None:
        self.location = location
        self.usable = usable
        self.name = name
        self.file = location[0].joinpath(*location[1], name)
        self._entries = entries
        self._used: set[str] = set()
        self._dirty = False

    @classmethod
    def open(cls, location: tuple[Path, tuple[str, ...]], config: Config) -> Cache:
        name = f"v{_FORMAT}-{ruleset_version()}-{config.fingerprint()}.json"
        entries: dict[str, Any] = {}
        key = _user_key(user_cache_home())
        if key is None:
            return cls(location, name, entries, usable=False)
        with contextlib.suppress(OSError, ValueError, RecursionError):
            fd = _open_cache_dir(*location, create=False)
            try:
                body = _verified(key, read_at(fd, name, _READ_LIMIT, strict=True).data)
            finally:
                os.close(fd)
            loaded = json.loads(body) if body is not None else None
            if isinstance(loaded, dict):
                entries = loaded
        return cls(location, name, entries)

    def get(self, key: str) -> FileOutcome | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        outcome = _decode(entry)
        if outcome is not None:
            self._used.add(key)
        return outcome

    def put(self, key: str, outcome: FileOutcome) -> None:
        if outcome.internal_errors:
            return  # never remember a result a rule bug produced
        self._entries[key] = _encode(outcome)
        self._used.add(key)
        self._dirty = True

    def save(self) -> None:
        """Write the cache atomically; a cache that cannot be written is silently skipped (a read-only home)."""
        key = _user_key(user_cache_home()) if self.usable else None
        if not self._dirty or key is None:
            return
        if len(self._entries) > _MAX_ENTRIES:
            self._entries = {k: v for k, v in self._entries.items() if k in self._used}
        try:
            fd = _open_cache_dir(*self.location, create=True)
        except OSError:
            return
        try:
            self._mark(fd)
            data = json.dumps(self._entries, separators=(",", ":")).encode("utf-8")
            replace_at(fd, self.name, _sign(key, data), 0o600)
        except OSError:
            return
        finally:
            os.close(fd)
        self._dirty = False

    @staticmethod
    def _mark(fd: int) -> None:
        """Keep the cache out of git and backups, as other tools' caches do; an existing name is left alone."""
        try:
            create_exclusive(fd, ".gitignore", b"# Created by production-fastapi automatically.\n*\n")
            create_exclusive(
                fd,
                "CACHEDIR.TAG",
                b"Signature: 8a477f597d28d172789f06886806bc55\n"
                b"# This file is a cache directory tag created by production-fastapi.\n",
            )
        except OSError as exc:
            if exc.errno not in (errno.EACCES, errno.EROFS, errno.EPERM):
                raise
