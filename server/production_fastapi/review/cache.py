"""The result cache: a file whose content, path, rule set and configuration are unchanged is not checked again.

Keys hash the file's bytes (not its mtime): a checkout, a ``touch`` or a CI restore cannot fool it. One JSON file per
(rule-set version, configuration) pair lives in ``.production-fastapi-cache/`` at the configuration root; JSON, not
pickle, because a cache directory is writable by whatever else runs in the repository and must not be able to run
code when loaded. A corrupt or foreign cache file is ignored and rewritten.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from production_fastapi.review.config import Config
from production_fastapi.review.engine import FileOutcome
from production_fastapi.review.findings import Finding
from production_fastapi.rules import ruleset_version
from production_fastapi.rules.base import Rule

__all__ = ["CACHE_DIR_NAME", "Cache", "content_key"]

CACHE_DIR_NAME = ".production-fastapi-cache"
_FORMAT = 2
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


class Cache:
    def __init__(self, file: Path, entries: dict[str, Any]) -> None:
        self.file = file
        self._entries = entries
        self._used: set[str] = set()
        self._dirty = False

    @classmethod
    def open(cls, directory: Path, config: Config) -> Cache:
        file = directory / f"v{_FORMAT}-{ruleset_version()}-{config.fingerprint()}.json"
        entries: dict[str, Any] = {}
        with contextlib.suppress(OSError, ValueError):
            loaded = json.loads(file.read_text(encoding="utf-8"))
            if isinstance(loaded, dict):
                entries = loaded
        return cls(file, entries)

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
        """Write the cache atomically; a cache that cannot be written is silently skipped (read-only checkouts)."""
        if not self._dirty:
            return
        if len(self._entries) > _MAX_ENTRIES:
            self._entries = {k: v for k, v in self._entries.items() if k in self._used}
        directory = self.file.parent
        try:
            directory.mkdir(parents=True, exist_ok=True)
            self._mark(directory)
            fd, temporary = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix=".json")
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(self._entries, handle, separators=(",", ":"))
            os.replace(temporary, self.file)
        except OSError:
            return
        self._dirty = False

    @staticmethod
    def _mark(directory: Path) -> None:
        """Keep the cache out of git and backups, as other tools' caches do."""
        gitignore = directory / ".gitignore"
        if not gitignore.exists():
            gitignore.write_text("# Created by production-fastapi automatically.\n*\n", encoding="utf-8")
        tag = directory / "CACHEDIR.TAG"
        if not tag.exists():
            tag.write_text(
                "Signature: 8a477f597d28d172789f06886806bc55\n"
                "# This file is a cache directory tag created by production-fastapi.\n",
                encoding="utf-8",
            )
