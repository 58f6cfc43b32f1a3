"""Middleware cost, side by side in one run: bare FastAPI vs our stack vs BaseHTTPMiddleware vs a reference.

All apps are started first (real uvicorn, uvloop + httptools, one process each, pinned to CPU 0 when the machine has
two or more); wrk then drives them in rotating order, round after round, from CPU 1. Medians over the rounds cancel
out drift in background load, which a shared machine has. Each app's log file is checked afterwards: our stack must
have written one access-log line per request, or the comparison would flatter it.

    .venv/bin/python -m benchmarks.load.middleware [--seconds 10] [--rounds 3] [--connections 64] [--apps ...]

Prints a table and the ratios against the targets, and writes benchmarks/results/load-middleware.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from benchmarks.load.apps import ORIGIN
from benchmarks.load.report import RESULTS, environment, median, write_results
from benchmarks.load.server import free_port, running_server, uvicorn_command
from benchmarks.load.wrk import ToolMissing, WrkResult, cpu_pin, find_wrk, run_wrk

APPS = ("bare", "ours", "basehttp", "reference")
ENDPOINTS = ("/hello", "/items")
# Apps that write one JSON access-log line per request (checked after the run).
LOGGING_APPS = ("ours", "basehttp")
TARGET_OF_BARE = 0.85
TARGET_OVER_BASEHTTP = 2.0


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10.0, help="measured seconds per app, endpoint and round")
    parser.add_argument("--warmup", type=float, default=2.0, help="unmeasured seconds before each app's first run")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--apps", default=",".join(APPS), help=f"comma-separated subset of {','.join(APPS)}")
    parser.add_argument("--no-write", action="store_true", help="print only; leave benchmarks/results alone")
    parser.add_argument("--render-only", action="store_true", help="rewrite the .md from the last .json")
    arguments = parser.parse_args(argv)
    arguments.apps = [name.strip() for name in arguments.apps.split(",") if name.strip()]
    unknown = sorted(set(arguments.apps) - set(APPS))
    if unknown:
        parser.error(f"unknown app(s) {', '.join(unknown)}; choose from {', '.join(APPS)}")
    return arguments


Results = dict[str, dict[str, list[WrkResult]]]
CpuTimes = dict[str, dict[str, list[float]]]


def measure(arguments: argparse.Namespace, workdir: Path) -> tuple[Results, CpuTimes]:
    """wrk results and server CPU microseconds per request, per app and endpoint, one per round."""
    results: Results = {app: {e: [] for e in ENDPOINTS} for app in arguments.apps}
    cpu_us: CpuTimes = {app: {e: [] for e in ENDPOINTS} for app in arguments.apps}
    headers = {"Origin": ORIGIN}
    with ExitStack() as stack:
        servers = {}
        for app in arguments.apps:
            port = free_port()
            servers[app] = stack.enter_context(
                running_server(
                    uvicorn_command(
                        f"benchmarks.load.apps:{app}", port, factory=True, extra=["--log-level", "warning"]
                    ),
                    port,
                    workdir / f"{app}.log",
                    ready_path="/hello",
                    cpu_prefix=cpu_pin("0"),
                )
            )
        for server in servers.values():
            for endpoint in ENDPOINTS:
                run_wrk(
                    server.base_url + endpoint,
                    seconds=arguments.warmup,
                    connections=arguments.connections,
                    headers=headers,
                    wrk_cpus="1",
                )
        for round_number in range(arguments.rounds):
            order = (
                arguments.apps[round_number % len(arguments.apps) :]
                + arguments.apps[: round_number % len(arguments.apps)]
            )
            for endpoint in ENDPOINTS:
                for app in order:
                    before = servers[app].cpu_seconds()
                    result = run_wrk(
                        servers[app].base_url + endpoint,
                        seconds=arguments.seconds,
                        connections=arguments.connections,
                        headers=headers,
                        wrk_cpus="1",
                    )
                    results[app][endpoint].append(result)
                    cpu_us[app][endpoint].append((servers[app].cpu_seconds() - before) * 1e6 / max(1, result.requests))
                    print(
                        f"  round {round_number + 1} {endpoint:7} {app:10} {result.requests_per_s:9.0f} req/s "
                        f"p50 {result.p50_ms:6.2f} ms  p99 {result.p99_ms:6.2f} ms  errors {result.errors}"
                    )
        time.sleep(0.5)  # let the servers flush their last log lines
        for app in arguments.apps:
            if app in LOGGING_APPS:
                _check_access_log(app, servers[app].log_text(), results[app])
    return results, cpu_us


def _check_access_log(app: str, log: str, results: dict[str, list[WrkResult]]) -> None:
    # wrk counts only completed requests; the access log must hold at least that many lines for the endpoints.
    measured = sum(r.requests for runs in results.values() for r in runs)
    logged = sum(log.count(f'"path": "{endpoint}"') + log.count(f'"path":"{endpoint}"') for endpoint in ENDPOINTS)
    if logged < measured:
        raise SystemExit(f"{app}: {logged} access-log lines for {measured} measured requests: the log is not running")


def summarize(results: Results, cpu_us: CpuTimes | None = None) -> dict[str, Any]:
    summary: dict[str, Any] = {}
    for endpoint in ENDPOINTS:
        rows: dict[str, dict[str, Any]] = {}
        for app, per_endpoint in results.items():
            runs = per_endpoint[endpoint]
            rows[app] = {
                "requests_per_s": median([r.requests_per_s for r in runs]),
                "p50_ms": median([r.p50_ms for r in runs]),
                "p99_ms": median([r.p99_ms for r in runs]),
                "errors": sum(r.errors for r in runs),
                "server_cpu_us_per_request": median(cpu_us[app][endpoint]) if cpu_us else None,
                "runs": [r.as_dict() for r in runs],
            }
        ratios: dict[str, float] = {}
        if "ours" in rows and "bare" in rows:
            ratios["ours_of_bare"] = round(rows["ours"]["requests_per_s"] / rows["bare"]["requests_per_s"], 3)
        if "ours" in rows and "basehttp" in rows:
            ratios["ours_over_basehttp"] = round(rows["ours"]["requests_per_s"] / rows["basehttp"]["requests_per_s"], 3)
        if cpu_us and "ours" in rows and "bare" in rows:
            # Capacity when CPU-bound: requests one core serves per second, ours against bare.
            ours_cpu, bare_cpu = rows["ours"]["server_cpu_us_per_request"], rows["bare"]["server_cpu_us_per_request"]
            ratios["ours_of_bare_by_cpu"] = round(bare_cpu / ours_cpu, 3)
        if cpu_us and "ours" in rows and "basehttp" in rows:
            base_cpu = rows["basehttp"]["server_cpu_us_per_request"]
            ratios["ours_over_basehttp_by_cpu"] = round(base_cpu / rows["ours"]["server_cpu_us_per_request"], 3)
        if "ours" in rows and "reference" in rows:
            ratios["ours_of_reference"] = round(rows["ours"]["requests_per_s"] / rows["reference"]["requests_per_s"], 3)
        summary[endpoint] = {"apps": rows, "ratios": ratios}
    return summary


def render(summary: dict[str, Any], env: dict[str, Any], arguments: argparse.Namespace) -> str:
    lines = [
        "# Middleware cost under load",
        "",
        f"{env['date']}: {env['machine']}, Python {env['python']}, load average {env['loadavg_1m']} at start; "
        f"uvicorn {env['versions']['uvicorn']} (uvloop + httptools), fastapi {env['versions']['fastapi']}, "
        f"starlette {env['versions']['starlette']}.",
        f"One uvicorn process per app (CPU 0), wrk -t1 -c{arguments.connections} (CPU 1), {arguments.seconds:g} s per "
        f"run, median of {arguments.rounds} rounds in rotating order. Command: "
        "`.venv/bin/python -m benchmarks.load.middleware`.",
        "",
    ]
    for endpoint, data in summary.items():
        lines += [
            f"## GET {endpoint}",
            "",
            "| app | req/s | p50 ms | p99 ms | errors | server CPU us/request |",
            "|---|---:|---:|---:|---:|---:|",
        ]
        for app, row in data["apps"].items():
            cpu = row["server_cpu_us_per_request"]
            lines.append(
                f"| {app} | {row['requests_per_s']:.0f} | {row['p50_ms']:.2f} | {row['p99_ms']:.2f} | {row['errors']} "
                f"| {'' if cpu is None else f'{cpu:.0f}'} |"
            )
        lines.append("")
        ratios = data["ratios"]
        if "ours_of_bare" in ratios:
            shortfall = TARGET_OF_BARE - ratios["ours_of_bare"]
            verdict = "met" if shortfall <= 0 else f"MISSED by {shortfall:.2f}"
            lines.append(f"- ours / bare = {ratios['ours_of_bare']:.2f} (target >= {TARGET_OF_BARE}: {verdict})")
        if "ours_over_basehttp" in ratios:
            verdict = "met" if ratios["ours_over_basehttp"] >= TARGET_OVER_BASEHTTP else "MISSED"
            lines.append(
                f"- ours / BaseHTTPMiddleware = {ratios['ours_over_basehttp']:.2f} "
                f"(target >= {TARGET_OVER_BASEHTTP}: {verdict})"
            )
        if "ours_of_bare_by_cpu" in ratios:
            verdict = "met" if ratios["ours_of_bare_by_cpu"] >= TARGET_OF_BARE else "MISSED"
            lines.append(
                f"- by server CPU per request (steadier on a shared machine): ours / bare = "
                f"{ratios['ours_of_bare_by_cpu']:.2f} ({verdict}), ours / BaseHTTPMiddleware = "
                f"{ratios.get('ours_over_basehttp_by_cpu', 0):.2f}"
            )
        if "ours_of_reference" in ratios:
            lines.append(f"- ours / reference (asgi-correlation-id + CORS) = {ratios['ours_of_reference']:.2f}")
        lines.append("")
    lines += [
        "Where the time goes, layer by layer: `load-breakdown.md` (`python -m benchmarks.load.breakdown`). The access",
        "log line is the largest single cost; findings and the proposed change: benchmarks/load/README.md.",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    arguments = _arguments(argv)
    if arguments.render_only:
        # Rewrite the Markdown from the last JSON (after a wording change), measuring nothing.
        data = json.loads((RESULTS / "load-middleware.json").read_text())
        saved = argparse.Namespace(**data["settings"])
        markdown = render(data["endpoints"], data["environment"], saved)
        (RESULTS / "load-middleware.md").write_text(markdown)
        print(markdown)
        return 0
    try:
        find_wrk()
    except ToolMissing as missing:
        print(f"error: {missing}", file=sys.stderr)
        return 2
    env = environment()
    with tempfile.TemporaryDirectory(prefix="pf-load-") as workdir:
        results, cpu_us = measure(arguments, Path(workdir))
    summary = summarize(results, cpu_us)
    markdown = render(summary, env, arguments)
    print()
    print(markdown)
    if not arguments.no_write:
        data = {"environment": env, "settings": vars(arguments), "endpoints": summary}
        for path in write_results("load-middleware", data, markdown):
            print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
