"""Reviewing paths: discover files, consult the cache, check the rest (in worker processes when many), then run
the project-wide rules per project and apply fixes.

A project is the set of Python files under one configuration root (the directory of the pyproject.toml that
configures them, or the reviewed path): project rules never link files of two unrelated projects.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from production_fastapi.review.api import rules_for
from production_fastapi.review.cache import Cache, content_key
from production_fastapi.review.config import Config
from production_fastapi.review.engine import FileOutcome, check_project, check_python
from production_fastapi.review.files import ConfigLookup, Discovered, discover
from production_fastapi.review.findings import Finding, Report
from production_fastapi.review.fixing import fix_loop
from production_fastapi.review.pool import Task, run_tasks
from production_fastapi.review.source import Unreadable, decode_python
from production_fastapi.rules import all_rules
from production_fastapi.rules.base import Rule
from production_fastapi.rules.context import FileContext, module_name_for

__all__ = ["Runner"]


@dataclass(slots=True)
class _File:
    item: Discovered
    display: str
    config: Config
    rules: tuple[Rule, ...]
    data: bytes | None = None
    key: str = ""
    outcome: FileOutcome | None = None


def _display(path: Path) -> str:
    """Paths as the user would type them: relative to the working directory when inside it."""
    try:
        return path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return path.as_posix()


class Runner:
    def __init__(
        self,
        *,
        config: Config | None = None,
        select: Sequence[str] | None = None,
        ignore: Sequence[str] | None = None,
        cache: bool = True,
        cache_dir: Path | None = None,
        jobs: int | None = None,
    ) -> None:
        def transform(found: Config) -> Config:
            return found.with_overrides(select=select, ignore=ignore)

        self._configs = ConfigLookup(transform(config) if config is not None else None, transform=transform)
        self._use_cache = cache
        self._cache_dir = cache_dir
        self._jobs = jobs if jobs is not None else (os.cpu_count() or 1)

    # --- the run -----------------------------------------------------------------------------------------------

    def run(self, paths: Sequence[Path], *, fix: bool = False, diff: bool = False) -> Report:
        report = Report()
        text_globs = tuple(dict.fromkeys(glob for rule in all_rules() for glob in rule.files))
        discovered, report.errors = discover(paths, self._configs, text_globs)
        files: list[_File] = []
        for item in discovered:
            config = self._configs(item.path, item.origin)
            files.append(_File(item, _display(item.path), config, rules_for(config, item.path)))
        report.files_checked = len(files)
        caches = self._load_caches(files)
        pending = self._read_and_probe(files, caches, report)
        self._check(pending, report)
        for cache in caches.values():
            for file in files:
                if file.outcome is not None and file.key and caches.get(file.config.root) is cache:
                    cache.put(file.key, file.outcome)
        project_findings = self._projects(files, caches, report)
        for file in files:
            if file.outcome is not None:
                report.findings.extend(file.outcome.findings)
                report.errors.extend(file.outcome.internal_errors)
        report.findings.extend(project_findings)
        for cache in caches.values():
            cache.save()
        if fix or diff:
            self._fix(files, report, write=fix)
        report.findings.sort()
        return report

    # --- steps -------------------------------------------------------------------------------------------------

    def _load_caches(self, files: Sequence[_File]) -> dict[Path, Cache]:
        if not self._use_cache:
            return {}
        caches: dict[Path, Cache] = {}
        for file in files:
            root = file.config.root
            if root not in caches:
                caches[root] = Cache.open(self._cache_dir or root / ".production-fastapi-cache", file.config)
        return caches

    def _read_and_probe(self, files: Sequence[_File], caches: dict[Path, Cache], report: Report) -> list[_File]:
        """Read every file; take cached outcomes; return the files that still need checking."""
        pending: list[_File] = []
        for file in files:
            try:
                file.data = file.item.path.read_bytes()
            except OSError as exc:
                report.errors.append(f"{file.display}: cannot read ({exc.strerror or exc})")
                continue
            cache = caches.get(file.config.root)
            if cache is not None:
                file.key = content_key(file.display, file.data, file.rules)
                file.outcome = cache.get(file.key)
            if file.outcome is None:
                pending.append(file)
        return pending

    def _check(self, pending: Sequence[_File], report: Report) -> None:
        tasks = [
            Task(
                path=file.display,
                data=file.data or b"",
                kind=file.item.kind,
                codes=tuple(rule.code for rule in file.rules),
                max_file_size=file.config.max_file_size,
                module=self._module_of(file),
            )
            for file in pending
        ]
        for file, outcome in zip(pending, run_tasks(tasks, jobs=self._jobs), strict=True):
            file.outcome = outcome

    @staticmethod
    def _module_of(file: _File) -> str | None:
        try:
            relative = file.item.path.resolve().relative_to(file.config.root.resolve()).as_posix()
        except ValueError:
            return None
        return module_name_for(relative)

    def _projects(self, files: Sequence[_File], caches: dict[Path, Cache], report: Report) -> list[Finding]:
        """Run project rules once per configuration root, over the files their gates let in."""
        by_root: dict[Path, list[_File]] = {}
        for file in files:
            if file.item.kind == "python" and file.outcome is not None and file.outcome.parsed:
                by_root.setdefault(file.config.root, []).append(file)
        findings: list[Finding] = []
        for root, members in by_root.items():
            project_rules = {r.code: r for f in members for r in f.rules if r.kind == "project"}
            if not project_rules:
                continue
            gates = [set(r.requires) for r in project_rules.values()]
            relevant = [
                f
                for f in members
                if any(not gate or not gate.isdisjoint(f.outcome.modules if f.outcome else ()) for gate in gates)
            ]
            if not relevant:
                continue
            cache = caches.get(root)
            key = content_key("<project>", b"".join(f.key.encode() for f in relevant), project_rules.values())
            if cache is not None and all(f.key for f in relevant):
                cached = cache.get(key)
                if cached is not None:
                    findings.extend(cached.findings)
                    continue
            contexts: list[FileContext] = []
            for f in relevant:
                source = decode_python(f.data or b"", f.config.max_file_size)
                if isinstance(source, Unreadable):
                    continue
                outcome, ctx = check_python(f.display, source, (), self._module_of(f))
                if ctx is not None:
                    contexts.append(ctx)
            allowed = {f.display: frozenset(r.code for r in f.rules) for f in relevant}
            outcome = check_project(contexts, tuple(project_rules.values()), allowed=allowed)
            findings.extend(outcome.findings)
            if cache is not None and all(f.key for f in relevant) and not outcome.internal_errors:
                cache.put(key, outcome)
            report.errors.extend(outcome.internal_errors)
        return findings

    def _fix(self, files: Sequence[_File], report: Report, *, write: bool) -> None:
        fixable_paths = {f.path for f in report.findings if f.fixable}
        for file in files:
            if file.display not in fixable_paths or file.item.kind != "python" or file.data is None:
                continue
            source = decode_python(file.data, file.config.max_file_size)
            if isinstance(source, Unreadable):
                continue
            result = fix_loop(file.display, source, file.rules, self._module_of(file))
            report.errors.extend(result.errors)
            if result.source == source:
                continue
            report.changed.append(file.display)
            report.diffs[file.display] = "".join(
                difflib.unified_diff(
                    source.splitlines(keepends=True),
                    result.source.splitlines(keepends=True),
                    fromfile=f"a/{file.display}",
                    tofile=f"b/{file.display}",
                )
            )
            if write:
                _write_preserving(file.item.path, file.data, result.source)
                # Replace this file's per-file findings with what remains after fixing.
                file_codes = {r.code for r in file.rules if r.kind == "file"}
                report.findings = [f for f in report.findings if f.path != file.display or f.code not in file_codes]
                report.findings.extend(result.remaining)
                report.fixed += result.fixed


def _write_preserving(path: Path, original: bytes, source: str) -> None:
    """Write the fixed text back in the file's own encoding and newline style, atomically."""
    import io
    import tokenize

    encoding, _ = tokenize.detect_encoding(io.BytesIO(original).readline)
    newline = "\r\n" if b"\r\n" in original else "\n"
    text = source.replace("\r\n", "\n")
    if newline != "\n":
        text = text.replace("\n", newline)
    temporary = path.with_name(f".{path.name}.production-fastapi.tmp")
    temporary.write_bytes(text.encode(encoding))
    os.replace(temporary, path)
