"""Checking many files: in worker processes, so a run uses every core and a crash of the native parser on one file
(a segfault in a C extension, the OOM killer) costs that file a PF000 finding instead of the whole run.

Work is cut into jobs: the files of one project form one job that also runs the project-wide rules on the trees it
parsed (so no file is parsed twice); files under no project rule are cut into balanced chunks. Small runs stay in
process: starting workers costs more than checking a handful of files.
"""

from __future__ import annotations

import gc
import os
import re
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field, replace
from functools import cache

from production_fastapi.fsaccess import check_deadline
from production_fastapi.review.engine import FileOutcome, check_project, check_python, check_text, parse_error
from production_fastapi.review.source import Unreadable, decode_python, decode_text
from production_fastapi.rules import all_rules
from production_fastapi.rules.base import Rule
from production_fastapi.rules.context import FileContext
from production_fastapi.rules.names import fold_identifiers

__all__ = ["PARALLEL_THRESHOLD", "Job", "JobResult", "Task", "check_task", "chunk_tasks", "run_job", "run_jobs"]

#: Below this many files a run stays in one process.
PARALLEL_THRESHOLD = 48
#: Files per task sent to a worker: big enough to amortise the round trip, small enough to balance the cores.
_CHUNK_BYTES = 512 * 1024
_CHUNK_FILES = 64


@dataclass(frozen=True, slots=True)
class Task:
    """One file: everything a worker needs, as plain picklable data.

    ``check`` False means the file's own results are already known (cached) and it is here only so project rules
    can see it.
    """

    path: str
    data: bytes
    kind: str
    codes: tuple[str, ...]
    max_file_size: int
    module: str | None
    check: bool = True
    #: The library versions the file's project declares (``review.targets``).
    targets: tuple[tuple[str, str], ...] = ()
    #: The path inside its project (a text file's context, ``rules/contexts.py``, is judged by it).
    relative: str | None = None


@dataclass(frozen=True, slots=True)
class Job:
    """Files checked together in one process. When ``project_codes`` is set the files are one project and the
    job also runs those project rules, on the trees it has just parsed: each file is parsed once per run."""

    tasks: tuple[Task, ...]
    project_codes: tuple[str, ...] = ()

    @property
    def size(self) -> int:
        return sum(len(task.data) for task in self.tasks)


@dataclass(slots=True)
class JobResult:
    #: One per task; None for tasks that were only context (``check`` False).
    outcomes: list[FileOutcome | None]
    project: FileOutcome | None = None


@dataclass(slots=True)
class _WorkerState:
    """What a worker process keeps between jobs.

    ``parked`` holds the parsed files the last project job kept for its project rules. They are parked instead of
    freed when the job ends, and released when the next job starts: for a worker's last job they die with the
    process, which ends in ``os._exit`` and hands the memory back to the system at once. Freeing a large project's
    syntax trees object by object costs most of a second on the run's critical path. Off in the parent process.
    """

    parks: bool = False
    parked: list[FileContext] = field(default_factory=list)


_worker = _WorkerState()


def _worker_init() -> None:
    """Set up a worker process, which lives for one run.

    The cyclic garbage collector stays off for the worker's life, not only during each job (see :func:`run_job`):
    parked trees would otherwise sit in its youngest generation and the first collection after a job would walk
    all of them. Syntax trees hold no reference cycles; the few small cycles rules create go with the process.
    """
    _worker.parks = True
    gc.disable()


@cache
def _rules(codes: tuple[str, ...]) -> tuple[Rule, ...]:
    wanted = frozenset(codes)
    return tuple(rule for rule in all_rules() if rule.code in wanted)


def check_task(task: Task) -> tuple[FileOutcome, FileContext | None]:
    """Decode and check one file; every failure becomes a finding or an internal error, never an exception."""
    rules = _rules(task.codes) if task.check else ()
    if task.kind == "text":
        text = decode_text(task.data, task.max_file_size)
        if isinstance(text, Unreadable):
            return FileOutcome([parse_error(task.path, text.message, text.line, text.column)]), None
        return check_text(task.path, text, rules, task.targets, task.relative), None
    source = decode_python(task.data, task.max_file_size)
    if isinstance(source, Unreadable):
        return FileOutcome([parse_error(task.path, source.message, source.line, source.column)]), None
    return check_python(task.path, source, rules, task.module, task.data, targets=task.targets)


def run_job(job: Job) -> JobResult:
    """Check a job's files, then its project rules over the files their gates let in.

    The cyclic garbage collector is paused meanwhile: syntax trees hold no cycles, but a job keeps a project's
    trees alive, and every collection would walk all of them again (measured: a third of the run time).
    """
    paused = gc.isenabled()
    gc.disable()
    try:
        return _run_job(job)
    finally:
        if paused:
            gc.enable()


def _run_job(job: Job) -> JobResult:
    _worker.parked.clear()  # the previous job's trees: freed now, while this process still has work to do
    project_rules = _rules(job.project_codes)
    gates = [frozenset(rule.requires) for rule in project_rules]
    everything = any(not gate for gate in gates)
    contexts: list[FileContext] = []
    outcomes: list[FileOutcome | None] = []
    for task in job.tasks:
        outcome, ctx = check_task(task)
        outcomes.append(outcome if task.check else None)
        if ctx is None or not project_rules:
            continue
        modules = ctx.modules
        if everything or any(not gate.isdisjoint(modules) for gate in gates):
            contexts.append(ctx)
    if not project_rules:
        return JobResult(outcomes)
    allowed = {task.path: frozenset(task.codes) for task in job.tasks}
    targets = job.tasks[0].targets if job.tasks else ()
    result = JobResult(outcomes, check_project(contexts, project_rules, allowed=allowed, targets=targets))
    if _worker.parks:
        _worker.parked.extend(contexts)
    return result


@cache
def _gate_pattern(names: frozenset[str]) -> re.Pattern[bytes]:
    # A word that starts with the name: `httpx` also finds `httpx2`, which the rules read as httpx.
    return re.compile(rb"\b(?:" + b"|".join(re.escape(n.encode()) for n in sorted(names)) + rb")")


def may_import(data: bytes, modules: frozenset[str]) -> bool:
    """Whether a file can import one of these top-level modules, read from its text without parsing.

    Never wrong in the unsafe direction: an import spells the module's name, so a file that never spells one
    imports none (the text is searched in NFKC form when it is not ASCII, as the parser folds identifiers). A
    file that merely mentions a name in a comment or string answers yes; that only costs a little balance.
    """
    if not modules:
        return False
    if not data.isascii():
        data = fold_identifiers(data.decode("utf-8", errors="replace")).encode("utf-8", errors="replace")
    return _gate_pattern(modules).search(data) is not None


def split_project_job(job: Job, pieces: int) -> list[Job]:
    """Cut a dominant project job so all cores work on it without parsing anything twice.

    The *owner* keeps the files a project rule's gate can let in (read from their import lines, no parse): it
    checks them and runs the project rules over them. The other files, which project rules never see, become
    chunks any worker can take. Scheduled first (it is the largest), the owner runs while the chunks are spread.
    """
    gates = [frozenset(rule.requires) for rule in _rules(job.project_codes)]
    if any(not gate for gate in gates):
        return [job]  # a project rule sees every file: nothing can leave the owner
    wanted = frozenset().union(*gates)
    owned = [task for task in job.tasks if may_import(task.data, wanted)]
    owned_ids = {id(task) for task in owned}
    rest = [task for task in job.tasks if id(task) not in owned_ids and task.check]
    if not rest:
        return [job]
    return [Job(tuple(owned), job.project_codes), *chunk_tasks(rest, pieces)]


def _crashed(task: Task) -> FileOutcome:
    return FileOutcome([parse_error(task.path, "the parser crashed on this file (worker process died); not reviewed")])


def _run_pool(jobs: Sequence[Job], workers: int) -> dict[int, JobResult]:
    """Run jobs in a pool, largest first; return those that finished (a dead worker loses its futures)."""
    done: dict[int, JobResult] = {}
    order = sorted(range(len(jobs)), key=lambda i: jobs[i].size, reverse=True)
    with ProcessPoolExecutor(max_workers=max(1, min(workers, len(jobs))), initializer=_worker_init) as pool:
        futures: list[tuple[int, Future[JobResult]]] = [(i, pool.submit(run_job, jobs[i])) for i in order]
        for index, future in futures:
            try:
                done[index] = future.result()
            except BrokenProcessPool:
                continue
    return done


def _isolate(tasks: Sequence[Task]) -> dict[int, JobResult | None]:
    """Check each task alone, one after another in a one-worker pool; a task that kills the worker maps to None
    and a fresh worker takes the rest. Costs one pool per crashing file, and runs only after a crash."""
    results: dict[int, JobResult | None] = {}
    index = 0
    while index < len(tasks):
        with ProcessPoolExecutor(max_workers=1) as pool:
            while index < len(tasks):
                try:
                    results[index] = pool.submit(run_job, Job((tasks[index],))).result()
                except BrokenProcessPool:
                    results[index] = None
                    index += 1
                    break
                index += 1
    return results


def _recover(job: Job) -> JobResult:
    """A worker died on this job: find the file(s) that kill it, then rerun the project rules without them."""
    isolated = _isolate(job.tasks)
    poisoned = {index for index, result in isolated.items() if result is None}
    outcomes: list[FileOutcome | None] = []
    for index, task in enumerate(job.tasks):
        result = isolated[index]
        if not task.check:
            outcomes.append(None)
        elif result is None:
            outcomes.append(_crashed(task))
        else:
            outcomes.append(result.outcomes[0])
    project: FileOutcome | None = None
    if job.project_codes:
        survivors = tuple(replace(t, check=False) for i, t in enumerate(job.tasks) if i not in poisoned)
        rerun = _run_pool([Job(survivors, job.project_codes)], 1).get(0)
        project = rerun.project if rerun is not None else None
    return JobResult(outcomes, project)


def run_jobs(jobs: Sequence[Job], *, workers: int, deadline: float | None = None) -> list[JobResult]:
    """Run every job, in order of the input. In worker processes when there is enough work and more than one job
    (crash isolation included); in this process otherwise, where ``deadline`` is checked before each job."""
    files = sum(sum(1 for t in job.tasks if t.check) for job in jobs)
    if workers <= 1 or len(jobs) < 2 or files < PARALLEL_THRESHOLD:
        results: list[JobResult] = []
        for job in jobs:
            check_deadline(deadline)
            results.append(run_job(job))
        return results
    workers = min(workers, os.cpu_count() or 1)
    done = _run_pool(jobs, workers)
    for index, job in enumerate(jobs):
        if index not in done:
            done[index] = _recover(job)
    return [done[i] for i in range(len(jobs))]


def chunk_tasks(tasks: Sequence[Task], workers: int) -> Iterator[Job]:
    """Split files with no project rules into jobs: about four per worker so the cores stay balanced, each small
    enough to bound what a crash retries and large enough to amortise the round trip."""
    if not tasks:
        return
    per_job = max(1, min(_CHUNK_FILES, -(-len(tasks) // (max(workers, 1) * 4))))
    chunk: list[Task] = []
    size = 0
    for task in tasks:
        chunk.append(task)
        size += len(task.data)
        if size >= _CHUNK_BYTES or len(chunk) >= per_job:
            yield Job(tuple(chunk))
            chunk, size = [], 0
    if chunk:
        yield Job(tuple(chunk))
