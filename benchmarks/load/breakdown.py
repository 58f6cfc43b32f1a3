"""Where our stack's time goes: server CPU per request as the layers are added one at a time.

CPU time per request (user + system, read from /proc for the server's process group) is the figure here, not
requests/s: it barely moves with other processes' load, so per-layer differences of a few microseconds show.

    .venv/bin/python -m benchmarks.load.breakdown [--seconds 4] [--rounds 3]

Writes benchmarks/results/load-breakdown.{json,md}.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path
from typing import Any

from benchmarks.load.apps import LAYERS, ORIGIN
from benchmarks.load.report import environment, median, write_results
from benchmarks.load.server import free_port, running_server, uvicorn_command
from benchmarks.load.wrk import cpu_pin, run_wrk


def measure_prefix(count: int, arguments: argparse.Namespace, workdir: Path) -> tuple[float, float]:
    """(CPU microseconds per request, requests/s) for bare FastAPI plus the first ``count`` layers."""
    port = free_port()
    command = uvicorn_command("benchmarks.load.apps:layered", port, factory=True, extra=["--log-level", "warning"])
    with running_server(
        command, port, workdir / f"layers-{count}.log", env={"PF_BENCH_LAYERS": str(count)}, ready_path="/hello",
        cpu_prefix=cpu_pin("0"),
    ) as server:  # fmt: skip
        url = server.base_url + arguments.endpoint
        headers = {"Origin": ORIGIN}
        run_wrk(url, seconds=1, connections=arguments.connections, headers=headers, wrk_cpus="1")
        before = server.cpu_seconds()
        result = run_wrk(
            url, seconds=arguments.seconds, connections=arguments.connections, headers=headers, wrk_cpus="1"
        )
        used = server.cpu_seconds() - before
    return used * 1e6 / max(1, result.requests), result.requests_per_s


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--endpoint", default="/hello", choices=["/hello", "/items"])
    parser.add_argument("--no-write", action="store_true")
    arguments = parser.parse_args(argv)
    env = environment()
    cpu: dict[int, list[float]] = {count: [] for count in range(len(LAYERS) + 1)}
    throughput: dict[int, list[float]] = {count: [] for count in range(len(LAYERS) + 1)}
    with tempfile.TemporaryDirectory(prefix="pf-breakdown-") as workdir:
        for round_number in range(arguments.rounds):
            for count in range(len(LAYERS) + 1):
                us, rps = measure_prefix(count, arguments, Path(workdir))
                cpu[count].append(us)
                throughput[count].append(rps)
                name = "bare" if count == 0 else f"+ {LAYERS[count - 1]}"
                print(f"  round {round_number + 1} {name:20} {us:7.1f} us/request  {rps:8.0f} req/s", flush=True)
    rows: list[dict[str, Any]] = []
    previous = None
    for count, runs in cpu.items():
        us = median(runs)
        rows.append({
            "layer": "bare FastAPI" if count == 0 else LAYERS[count - 1],
            "cpu_us_per_request": us,
            "added_us": round(us - previous, 1) if previous is not None else None,
            "requests_per_s": median(throughput[count]),
            "cpu_us_runs": [round(v, 1) for v in runs],
        })  # fmt: skip
        previous = us
    bare_us, full_us = rows[0]["cpu_us_per_request"], rows[-1]["cpu_us_per_request"]
    lines = [
        f"# Where the time goes: GET {arguments.endpoint}, server CPU per request",
        "",
        f"{env['date']}: {env['machine']}, load average {env['loadavg_1m']} at start. Median of {arguments.rounds} "
        f"rounds, {arguments.seconds:g} s of wrk -c{arguments.connections} each. Command: "
        "`.venv/bin/python -m benchmarks.load.breakdown`.",
        "",
        "| stack | CPU us/request | added | req/s |",
        "|---|---:|---:|---:|",
    ]
    for row in rows:
        added = "" if row["added_us"] is None else f"{row['added_us']:+.1f}"
        name = row["layer"] if row["added_us"] is None else f"+ {row['layer']}"
        lines.append(f"| {name} | {row['cpu_us_per_request']:.1f} | {added} | {row['requests_per_s']:.0f} |")
    lines += [
        "",
        f"Full stack: {full_us:.1f} us vs bare {bare_us:.1f} us per request, a CPU-bound capacity of "
        f"{bare_us / full_us:.2f} x bare's.",
        "",
    ]
    markdown = "\n".join(lines)
    print()
    print(markdown)
    if not arguments.no_write:
        data = {"environment": env, "settings": vars(arguments), "layers": rows}
        for path in write_results("load-breakdown", data, markdown):
            print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
