"""How long ``production-fastapi scaffold`` takes to write a project (target: at most 300 ms for the default one).

Run from the repository root: ``.venv/bin/python benchmarks/scaffold_bench.py [--runs N]``. It measures

- cold generate(): a new interpreter importing the scaffolder and generating once (jinja2 imported, blueprints
  compiled, files written, renamed into place), timed inside that process: the scaffolder's own cost, compared
  with the target;
- cold CLI: the whole ``python -m production_fastapi scaffold`` command, timed from outside (adds the interpreter
  start and the CLI importing every subcommand to build its parser): what a person or an agent waits for;
- warm: ``generate(...)`` called repeatedly in one process (blueprints already compiled): the cost of the writing
  itself, as the MCP server pays it from its second call on;

for the default project (SQLite, in-memory rate limits) and the PostgreSQL + Redis one, prints a Markdown table and
writes it to ``benchmarks/results/scaffold.md``.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from production_fastapi import __version__
from production_fastapi.scaffold import generate

RESULTS = Path(__file__).resolve().parent / "results" / "scaffold.md"
TARGET_MS = 300.0
CONFIGURATIONS: dict[str, list[str]] = {
    "default (sqlite, no redis)": [],
    "postgres + redis": ["--database", "postgres", "--redis"],
}


_COLD_PROBE = """
import sys, time
start, cpu = time.perf_counter(), time.process_time()
from production_fastapi.scaffold import generate
generate("bench-service", sys.argv[1], database=sys.argv[2], redis=sys.argv[3] == "1")
print((time.perf_counter() - start) * 1000, (time.process_time() - cpu) * 1000)
"""


def _cold_generate_ms(work: Path, options: list[str], runs: int) -> tuple[list[float], list[float]]:
    database = "postgres" if "postgres" in options else "sqlite"
    redis = "1" if "--redis" in options else "0"
    walls, cpus = [], []
    for n in range(runs):
        dest = work / f"cold-generate-{n}"
        done = subprocess.run(
            [sys.executable, "-c", _COLD_PROBE, str(dest), database, redis], check=True, capture_output=True, text=True
        )
        wall, cpu = (float(value) for value in done.stdout.split())
        walls.append(wall)
        cpus.append(cpu)
        shutil.rmtree(dest)
    return walls, cpus


def _children_cpu_ms() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (usage.ru_utime + usage.ru_stime) * 1000


def _cold_ms(work: Path, options: list[str], runs: int) -> tuple[list[float], list[float]]:
    walls, cpus = [], []
    for n in range(runs):
        dest = work / f"cold-{n}"
        start, cpu = time.perf_counter(), _children_cpu_ms()
        subprocess.run(
            [sys.executable, "-m", "production_fastapi", "scaffold", "bench-service", "--dest", str(dest), *options],
            check=True,
            capture_output=True,
        )
        walls.append((time.perf_counter() - start) * 1000)
        cpus.append(_children_cpu_ms() - cpu)
        shutil.rmtree(dest)
    return walls, cpus


def _warm_ms(work: Path, options: list[str], runs: int) -> tuple[list[float], int]:
    database = "postgres" if "postgres" in options else "sqlite"
    redis = "--redis" in options
    generate("bench-service", work / "warmup", database=database, redis=redis, force=True)
    files = 0
    timings = []
    for n in range(runs):
        dest = work / f"warm-{n}"
        start = time.perf_counter()
        written = generate("bench-service", dest, database=database, redis=redis)
        timings.append((time.perf_counter() - start) * 1000)
        files = len(written)
        shutil.rmtree(dest)
    return timings, files


def _row(label: str, kind: str, timings: list[float]) -> str:
    ordered = sorted(timings)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return (
        f"| {label} | {kind} | {len(timings)} | {ordered[0]:.1f} | {statistics.median(ordered):.1f} | {p95:.1f} "
        f"| {ordered[-1]:.1f} |"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20, help="runs per configuration and kind (default 20)")
    parser.add_argument("--no-write", action="store_true", help="print only; leave the results file alone")
    args = parser.parse_args()

    rows = []
    verdicts = []
    with tempfile.TemporaryDirectory(prefix="pf-scaffold-bench-") as tmp:
        work = Path(tmp)
        for label, options in CONFIGURATIONS.items():
            cold_runs = max(3, args.runs // 2)
            cold_wall, cold_cpu = _cold_generate_ms(work, options, cold_runs)
            cli, cli_cpu = _cold_ms(work, options, cold_runs)
            warm, files = _warm_ms(work, options, args.runs)
            rows += [
                _row(label, "cold generate(), wall", cold_wall),
                _row(label, "cold generate(), CPU", cold_cpu),
                _row(label, "cold CLI, wall", cli),
                _row(label, "cold CLI, CPU", cli_cpu),
                _row(label, "warm generate(), wall", warm),
            ]
            if not options:
                # The verdict uses CPU time: on a shared machine wall time is mostly waiting for a CPU (see the load
                # average above); on an idle one the two are close.
                cli_cpu_median = statistics.median(cli_cpu)
                verdict = "meets" if cli_cpu_median <= TARGET_MS else "MISSES"
                verdicts.append(
                    f"Default project ({files} files): the whole CLI command takes {cli_cpu_median:.0f} ms of CPU "
                    f"(median; {statistics.median(cli):.0f} ms wall on this machine), of which generate() itself "
                    f"{statistics.median(cold_cpu):.0f} ms: {verdict} the {TARGET_MS:.0f} ms target."
                )

    report = "\n".join(
        [
            "# Scaffolder: generation time",
            "",
            "`.venv/bin/python benchmarks/scaffold_bench.py`: milliseconds to write a complete project.",
            "*cold generate()* = first call in a new interpreter, import of the scaffolder included, timed inside it; "
            "*cold CLI* = the whole `python -m production_fastapi scaffold` process timed from outside (interpreter "
            "start, every subcommand imported to build the parser); *warm generate()* = repeated calls in one process.",
            "",
            f"production-fastapi {__version__}, Python {platform.python_version()}, {platform.machine()} "
            f"({platform.system()}), {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at the start "
            f"(the machine is shared: wall times include waiting for a CPU; CPU times don't), "
            f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.",
            "",
            "| project | kind | runs | min ms | median ms | p95 ms | max ms |",
            "|---|---|---:|---:|---:|---:|---:|",
            *rows,
            "",
            *verdicts,
            "",
        ]
    )
    print(report)
    if not args.no_write:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(report, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
