"""Checking many files: in worker processes, so a run uses every core and a crash of the native parser on one file
(a segfault in a C extension, the OOM killer) costs that file a PF000 finding instead of the whole run.

Small runs stay in process: starting workers costs more than checking a handful of files.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from functools import cache

from production_fastapi.review.engine import FileOutcome, check_python, check_text, parse_error
from production_fastapi.review.source import Unreadable, decode_python, decode_text
from production_fastapi.rules import all_rules
from production_fastapi.rules.base import Rule

__all__ = ["PARALLEL_THRESHOLD", "Task", "check_task", "run_tasks"]

#: Below this many files a run stays in one process.
PARALLEL_THRESHOLD = 48
#: Files per task sent to a worker: big enough to amortise the round trip, small enough to balance the cores.
_CHUNK_BYTES = 512 * 1024
_CHUNK_FILES = 64


@dataclass(frozen=True, slots=True)
class Task:
    """One file to check: everything a worker needs, as plain picklable data."""

    path: str
    data: bytes
    kind: str
    codes: tuple[str, ...]
    max_file_size: int
    module: str | None


@cache
def _rules(codes: tuple[str, ...]) -> tuple[Rule, ...]:
    wanted = frozenset(codes)
    return tuple(rule for rule in all_rules() if rule.code in wanted)


def check_task(task: Task) -> FileOutcome:
    """Decode and check one file; every failure becomes a finding or an internal error, never an exception."""
    rules = _rules(task.codes)
    if task.kind == "text":
        text = decode_text(task.data, task.max_file_size)
        if isinstance(text, Unreadable):
            return FileOutcome([parse_error(task.path, text.message, text.line, text.column)])
        return check_text(task.path, text, rules)
    source = decode_python(task.data, task.max_file_size)
    if isinstance(source, Unreadable):
        return FileOutcome([parse_error(task.path, source.message, source.line, source.column)])
    outcome, _ = check_python(task.path, source, rules, task.module)
    return outcome


def _check_chunk(tasks: Sequence[Task]) -> list[FileOutcome]:
    return [check_task(task) for task in tasks]


def _chunks(indexed: Sequence[int], tasks: Sequence[Task]) -> Iterator[list[int]]:
    chunk: list[int] = []
    size = 0
    for index in indexed:
        chunk.append(index)
        size += len(tasks[index].data)
        if size >= _CHUNK_BYTES or len(chunk) >= _CHUNK_FILES:
            yield chunk
            chunk, size = [], 0
    if chunk:
        yield chunk


def _crashed(task: Task) -> FileOutcome:
    return FileOutcome([parse_error(task.path, "the parser crashed on this file (worker process died); not reviewed")])


def _run_pool(tasks: Sequence[Task], indexes: Sequence[int], jobs: int, chunked: bool) -> dict[int, FileOutcome]:
    """Run the given tasks in a pool; return the outcomes that finished (a dead worker loses its futures)."""
    done: dict[int, FileOutcome] = {}
    groups = list(_chunks(indexes, tasks)) if chunked else [[i] for i in indexes]
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        futures: list[tuple[list[int], Future[list[FileOutcome]]]] = [
            (group, pool.submit(_check_chunk, [tasks[i] for i in group])) for group in groups
        ]
        for group, future in futures:
            try:
                outcomes = future.result()
            except BrokenProcessPool:
                continue
            done.update(zip(group, outcomes, strict=True))
    return done


def run_tasks(tasks: Sequence[Task], *, jobs: int) -> list[FileOutcome]:
    """Check every task, in order. With ``jobs > 1`` and enough files, in a process pool with crash isolation:
    when a worker dies, the unfinished files are retried one per process, and the file that kills its process
    again gets a PF000 finding."""
    if jobs <= 1 or len(tasks) < PARALLEL_THRESHOLD:
        return [check_task(task) for task in tasks]
    jobs = min(jobs, os.cpu_count() or 1, len(tasks))
    results = _run_pool(tasks, range(len(tasks)), jobs, chunked=True)
    missing = [i for i in range(len(tasks)) if i not in results]
    if missing:
        # Some worker died. Retry the unfinished files each alone, so one bad file cannot take others down.
        retried = _run_pool(tasks, missing, jobs, chunked=False)
        results.update(retried)
        for index in missing:
            if index not in retried:
                alone = _run_pool(tasks, [index], 1, chunked=False)
                results[index] = alone.get(index) or _crashed(tasks[index])
    return [results[i] for i in range(len(tasks))]
