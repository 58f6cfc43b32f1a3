"""Reviewing paths: discover files, consult the cache, check the rest (in worker processes when many), then run
the project-wide rules per project and apply fixes.

A project is the set of Python files under one configuration root (the directory of the pyproject.toml that
configures them, or the reviewed path): project rules never link files of two unrelated projects.
"""

from __future__ import annotations

import difflib
import functools
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from production_fastapi.fsaccess import DIRECTORY_FLAGS, AccessError, open_beneath, open_root, replace_at
from production_fastapi.review.api import rules_for
from production_fastapi.review.cache import Cache, cache_location, content_key
from production_fastapi.review.config import Config, resolve_directory, resolve_path
from production_fastapi.review.engine import FileOutcome, parse_error
from production_fastapi.review.files import ConfigLookup, Discovered, discover, text_globs
from production_fastapi.review.findings import Finding, Report
from production_fastapi.review.fixing import fix_loop
from production_fastapi.review.pool import Job, Task, chunk_tasks, run_jobs, split_project_job
from production_fastapi.review.source import Unreadable, decode_python
from production_fastapi.rules.base import Rule
from production_fastapi.rules.context import module_name_for

__all__ = ["Runner"]

#: A project job is split for parallelism only when it has at least twice this many files to check.
_SPLIT_MIN = 64


@dataclass(slots=True)
class _File:
    item: Discovered
    display: str
    config: Config
    rules: tuple[Rule, ...]
    data: bytes | None = None
    key: str = ""
    outcome: FileOutcome | None = None


def _relative(path: Path, root: str) -> str | None:
    """``path`` relative to the resolved directory ``root``, POSIX style; None when outside it.

    String work on the memoized :func:`resolve_path`: ``Path.relative_to`` per file costs more than checking it.
    """
    resolved = resolve_path(path).as_posix()
    prefix = root.rstrip("/") + "/"
    return resolved[len(prefix) :] if resolved.startswith(prefix) else None


def _display(path: Path, cwd: str) -> str:
    """Paths as the user would type them: relative to the working directory when inside it."""
    relative = _relative(path, cwd)
    return relative if relative is not None else path.as_posix()


class Runner:
    def __init__(
        self,
        *,
        config: Config | None = None,
        select: Sequence[str] | None = None,
        ignore: Sequence[str] | None = None,
        extend_select: Sequence[str] | None = None,
        cache: bool = True,
        cache_dir: Path | None = None,
        jobs: int | None = None,
        deadline: float | None = None,
    ) -> None:
        """``deadline`` (a ``time.monotonic()`` value) stops a run that goes past it with :class:`DeadlineExceeded`
        (the MCP server's per-call limit); checked between folders and between jobs."""

        def transform(found: Config) -> Config:
            return found.with_overrides(select=select, ignore=ignore, extend_select=extend_select)

        self._configs = ConfigLookup(transform(config) if config is not None else None, transform=transform)
        self._use_cache = cache
        self._cache_dir = cache_dir
        self._jobs = jobs if jobs is not None else (os.cpu_count() or 1)
        self._deadline = deadline

    # --- the run -----------------------------------------------------------------------------------------------

    def run(
        self, paths: Sequence[Path], *, fix: bool = False, diff: bool = False, unsafe_fixes: bool = False
    ) -> Report:
        discovered, errors = discover(paths, self._configs, text_globs(), deadline=self._deadline)
        return self.run_discovered(discovered, errors, fix=fix, diff=diff, unsafe_fixes=unsafe_fixes)

    def run_discovered(
        self,
        discovered: Sequence[Discovered],
        errors: Sequence[str],
        *,
        fix: bool = False,
        diff: bool = False,
        unsafe_fixes: bool = False,
    ) -> Report:
        """Review files already discovered and read (the MCP server vets them against its policy in between)."""
        report = Report(unsafe_fixes=unsafe_fixes)
        report.errors = list(errors)
        files: list[_File] = []
        cwd = Path.cwd().resolve().as_posix()
        for item in discovered:
            config = self._configs.for_file(item.path, item.origin)
            files.append(_File(item, _display(item.path, cwd), config, rules_for(config, item.path)))
        report.files_checked = len(files)
        caches = self._load_caches(files)
        pending = self._read_and_probe(files, caches, report)
        project_findings = self._check(files, pending, caches, report)
        pending_ids = {id(p) for p in pending}
        for file in files:
            if file.outcome is not None:
                report.findings.extend(file.outcome.findings)
                report.errors.extend(file.outcome.internal_errors)
                cache = caches.get(file.config.root)
                if cache is not None and file.key and id(file) in pending_ids:
                    cache.put(file.key, file.outcome)
        report.findings.extend(project_findings)
        for cache in {id(c): c for c in caches.values()}.values():
            cache.save()
        if fix or diff:
            self._fix(files, report, write=fix)
        report.findings.sort(key=Finding.sort_key)
        return report

    # --- steps -------------------------------------------------------------------------------------------------

    def _load_caches(self, files: Sequence[_File]) -> dict[Path, Cache]:
        """One cache per configuration root; roots sharing a cache file (``--cache-dir``) share one instance, so
        one root's save cannot overwrite another's entries."""
        if not self._use_cache:
            return {}
        caches: dict[Path, Cache] = {}
        by_file: dict[Path, Cache] = {}
        for file in files:
            root = file.config.root
            if root in caches:
                continue
            cache = Cache.open(cache_location(root, self._cache_dir), file.config)
            caches[root] = by_file.setdefault(cache.file, cache)
        return caches

    def _read_and_probe(self, files: Sequence[_File], caches: dict[Path, Cache], report: Report) -> list[_File]:
        """Take each file's bytes (read once, at discovery, through a vetted descriptor) and its cached outcome;
        return the files that still need checking."""
        pending: list[_File] = []
        for file in files:
            vetted = file.item.vetted
            limit = file.config.max_file_size
            if vetted.truncated or vetted.size > limit:
                message = f"file is {vetted.size:,} bytes, over the {limit:,}-byte limit (max-file-size); not reviewed"
                file.outcome = FileOutcome([parse_error(file.display, message)])
                continue
            file.data = vetted.data
            cache = caches.get(file.config.root)
            if cache is not None:
                file.key = content_key(file.display, file.data, file.rules, file.config.targets)
                file.outcome = cache.get(file.key)
            if file.outcome is None:
                pending.append(file)
        return pending

    def _task(self, file: _File, *, check: bool) -> Task:
        return Task(
            path=file.display,
            data=file.data or b"",
            kind=file.item.kind,
            codes=_codes(file.rules),
            max_file_size=file.config.max_file_size,
            module=self._module_of(file),
            check=check,
            targets=file.config.targets,
            relative=self._relative_of(file) if file.item.kind == "text" else None,
        )

    def _check(
        self, files: Sequence[_File], pending: Sequence[_File], caches: dict[Path, Cache], report: Report
    ) -> list[Finding]:
        """Plan the jobs (one per project with project rules to run, chunks for the rest), run them, and return
        the project rules' findings (cached ones included)."""
        pending_ids = {id(f) for f in pending}
        by_root: dict[Path, list[_File]] = {}
        for file in files:
            if file.data is not None:
                by_root.setdefault(file.config.project_root, []).append(file)
        jobs: list[Job] = []
        project_keys: list[tuple[Cache | None, str]] = []
        loose: list[_File] = []
        findings: list[Finding] = []
        for members in by_root.values():
            python = [f for f in members if f.item.kind == "python"]
            codes = sorted(frozenset().union(*{_project_codes(f.rules) for f in python}))
            if not codes or not python:
                loose.extend(f for f in members if id(f) in pending_ids)
                continue
            cache = caches.get(members[0].config.root)
            key = ""
            if cache is not None:
                # Any change to any of the project's Python files (or to the rules or config) re-runs its rules.
                key = content_key("<project>", "\0".join(sorted(f.key for f in python)).encode(), ())
                cached = cache.get(key) if python and all(f.key for f in python) else None
                if cached is not None:
                    findings.extend(cached.findings)
                    loose.extend(f for f in members if id(f) in pending_ids)
                    continue
            loose.extend(f for f in members if f.item.kind != "python" and id(f) in pending_ids)
            chosen = [f for f in python if id(f) in pending_ids or self._may_matter(f, codes)]
            jobs.append(Job(tuple(self._task(f, check=id(f) in pending_ids) for f in chosen), tuple(codes)))
            project_keys.append((cache, key))
        jobs = self._balance(jobs, loose)
        project_jobs = len(project_keys)
        by_display = {f.display: f for f in files}
        results = run_jobs(jobs, workers=self._jobs, deadline=self._deadline)
        for index, (job, result) in enumerate(zip(jobs, results, strict=True)):
            for task, outcome in zip(job.tasks, result.outcomes, strict=True):
                if outcome is not None:
                    by_display[task.path].outcome = outcome
            if index < project_jobs and result.project is not None:
                findings.extend(result.project.findings)
                report.errors.extend(result.project.internal_errors)
                cache, key = project_keys[index]
                if cache is not None and key and not result.project.internal_errors:
                    cache.put(key, result.project)
        return findings

    def _balance(self, project: list[Job], loose: list[_File]) -> list[Job]:
        """Order the jobs: project jobs first (their results carry project findings), then file chunks. A project
        job holding more than its share of the work is split (owner + chunks) so every core helps with it."""
        checked = sum(len(t.data) for job in project for t in job.tasks if t.check) + sum(
            len(f.data or b"") for f in loose
        )
        jobs: list[Job] = []
        chunks: list[Job] = []
        for job in project:
            own = sum(len(t.data) for t in job.tasks if t.check)
            if self._jobs > 1 and own * self._jobs > checked and sum(t.check for t in job.tasks) >= 2 * _SPLIT_MIN:
                owner, *pieces = split_project_job(job, self._jobs)
                jobs.append(owner)
                chunks.extend(pieces)
            else:
                jobs.append(job)
        chunks.extend(chunk_tasks([self._task(f, check=True) for f in loose], self._jobs))
        return jobs + chunks

    @staticmethod
    def _may_matter(file: _File, codes: Sequence[str]) -> bool:
        """A cached file joins its project's job only if some project rule's gate could let it in."""
        if file.outcome is None or not file.outcome.parsed:
            return False
        modules = set(file.outcome.modules)
        for rule in file.rules:
            if rule.code in codes and (not rule.requires or not modules.isdisjoint(rule.requires)):
                return True
        return False

    @staticmethod
    def _relative_of(file: _File) -> str | None:
        return _relative(file.item.path, resolve_directory(os.fspath(file.config.project_root)).as_posix())

    @staticmethod
    def _module_of(file: _File) -> str | None:
        relative = Runner._relative_of(file)
        return module_name_for(relative) if relative is not None else None

    def _fix(self, files: Sequence[_File], report: Report, *, write: bool) -> None:
        fixable_paths = {f.path for f in report.findings if f.fix_applies(report.unsafe_fixes)}
        for file in files:
            if file.display not in fixable_paths or file.item.kind != "python" or file.data is None:
                continue
            source = decode_python(file.data, file.config.max_file_size)
            if isinstance(source, Unreadable):
                continue
            result = fix_loop(
                file.display, source, file.rules, self._module_of(file),
                targets=file.config.targets, unsafe_fixes=report.unsafe_fixes,
            )
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
                try:
                    _write_preserving(file.item, result.source)
                except AccessError as exc:
                    report.errors.append(f"{file.display}: {exc}")
                    report.changed.remove(file.display)
                    continue
                # Replace this file's per-file findings with what remains after fixing.
                file_codes = {r.code for r in file.rules if r.kind == "file"}
                report.findings = [f for f in report.findings if f.path != file.display or f.code not in file_codes]
                report.findings.extend(result.remaining)
                report.fixed += result.fixed


# Files under one configuration share one tuple of rules: their codes are worked out once per tuple.
@functools.cache
def _codes(rules: tuple[Rule, ...]) -> tuple[str, ...]:
    return tuple(rule.code for rule in rules)


@functools.cache
def _project_codes(rules: tuple[Rule, ...]) -> frozenset[str]:
    return frozenset(rule.code for rule in rules if rule.kind == "project")


def _line_endings(original: bytes, text: str) -> str:
    """The fixed text with the file's own newline style: a file written wholly in CRLF gets CRLF on the lines the
    fixes added too; a file mixing LF and CRLF keeps each line's ending as it was (fixes add LF); nothing is
    normalised."""
    crlf = original.count(b"\r\n")
    if not crlf or crlf != original.count(b"\n"):
        return text
    return text.replace("\r\n", "\n").replace("\n", "\r\n")


def _write_preserving(item: Discovered, source: str) -> None:
    """Write the fixed text back in the file's own encoding and newline style, atomically, to the very file that
    was read: its folder is opened beneath the reviewed folder without following links, the name must still be
    that file (not a link, not a swapped file), and the new content goes to an ``O_EXCL`` temporary renamed over
    it. A symbolic link is refused, never replaced by a regular file. Raises :class:`AccessError`."""
    import io
    import tokenize

    original = item.vetted.data
    encoding, _ = tokenize.detect_encoding(io.BytesIO(original).readline)
    data = _line_endings(original, source).encode(encoding)
    folder, _, name = item.relative.rpartition("/")
    root = open_root(item.anchor)
    try:
        directory = open_beneath(root, folder, DIRECTORY_FLAGS) if folder else root
        try:
            replace_at(directory, name, data, item.vetted.mode, expect=(item.vetted.device, item.vetted.inode))
        finally:
            if directory != root:
                os.close(directory)
    finally:
        os.close(root)
