"""Middleware cost, side by side in one run: bare FastAPI vs our stack (and variants) vs BaseHTTPMiddleware.

All apps are started first (real uvicorn, uvloop + httptools, one process each, pinned to CPU 0 when the machine has
two or more); wrk then drives them in rotating order, round after round, from CPU 1. Medians over the rounds cancel
out drift in background load, which a shared machine has. Each app's log file is checked afterwards: our stack must
have written one access-log line per request, or the comparison would flatter it.

    .venv/bin/python -m benchmarks.load.middleware [--seconds 10] [--rounds 5] [--connections 64] [--apps ...]
        [--endpoints ...]

Targets, as ratios to bare FastAPI (server CPU per request the steadier figure): our stack >= 0.70 with the access
line written (``/hello``, ``/items``), >= 0.85 on a probe path (``/health/live``, access line at DEBUG), <= 5%
overhead (>= 0.95) on ``/work``, a route doing about 1 ms of work; and >= 2x ``BaseHTTPMiddleware``.

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

APPS = ("bare", "bare_headers", "ours", "ours_unfrozen", "ours_frozen_only", "basehttp", "reference")
DEFAULT_APPS = ("bare", "ours", "basehttp", "reference")
ENDPOINTS = ("/hello", "/items", "/health/live", "/work")
# Apps that write one JSON access-log line per request (checked after the run), on the endpoints that log at INFO.
LOGGING_APPS = ("ours", "ours_unfrozen", "ours_frozen_only", "basehttp")
LOGGED_ENDPOINTS = ("/hello", "/items", "/work")
# ours / bare, per endpoint: the access line costs its share on small endpoints, less than 5% on a real one.
TARGET_OF_BARE = {"/hello": 0.70, "/items": 0.70, "/health/live": 0.85, "/work": 0.95}
TARGET_OVER_BASEHTTP = 2.0


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10.0, help="measured seconds per app, endpoint and round")
    parser.add_argument("--warmup", type=float, default=2.0, help="unmeasured seconds before each app's first run")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--apps", default=",".join(DEFAULT_APPS), help=f"comma-separated subset of {','.join(APPS)}")
    parser.add_argument("--endpoints", default=",".join(ENDPOINTS), help="comma-separated subset of the endpoints")
    parser.add_argument("--no-write", action="store_true", help="print only; leave benchmarks/results alone")
    parser.add_argument("--render-only", action="store_true", help="rewrite the .md from the last .json")
    arguments = parser.parse_args(argv)
    arguments.apps = [name.strip() for name in arguments.apps.split(",") if name.strip()]
    unknown = sorted(set(arguments.apps) - set(APPS))
    if unknown:
        parser.error(f"unknown app(s) {', '.join(unknown)}; choose from {', '.join(APPS)}")
    arguments.endpoints = [name.strip() for name in arguments.endpoints.split(",") if name.strip()]
    unknown = sorted(set(arguments.endpoints) - set(ENDPOINTS))
    if unknown:
        parser.error(f"unknown endpoint(s) {', '.join(unknown)}; choose from {', '.join(ENDPOINTS)}")
    return arguments


Results = dict[str, dict[str, list[WrkResult]]]
CpuTimes = dict[str, dict[str, list[float]]]


def measure(arguments: argparse.Namespace, workdir: Path) -> tuple[Results, CpuTimes]:
    """wrk results and server CPU microseconds per request, per app and endpoint, one per round."""
    results: Results = {app: {e: [] for e in arguments.endpoints} for app in arguments.apps}
    cpu_us: CpuTimes = {app: {e: [] for e in arguments.endpoints} for app in arguments.apps}
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
            for endpoint in arguments.endpoints:
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
            for endpoint in arguments.endpoints:
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
                        f"  round {round_number + 1} {endpoint:12} {app:22} {result.requests_per_s:7.0f} req/s "
                        f"{cpu_us[app][endpoint][-1]:7.1f} us CPU  p50 {result.p50_ms:6.2f} ms  "
                        f"p99 {result.p99_ms:6.2f} ms  errors {result.errors}",
                        flush=True,
                    )
        time.sleep(0.5)  # let the servers flush their last log lines
        for app in arguments.apps:
            if app in LOGGING_APPS:
                _check_access_log(app, servers[app].log_text(), results[app])
    return results, cpu_us


def _check_access_log(app: str, log: str, results: dict[str, list[WrkResult]]) -> None:
    # wrk counts only completed requests; the access log must hold at least that many lines for the endpoints.
    logged_endpoints = [endpoint for endpoint in results if endpoint in LOGGED_ENDPOINTS]
    measured = sum(r.requests for endpoint in logged_endpoints for r in results[endpoint])
    logged = sum(log.count(f'"path": "{e}"') + log.count(f'"path":"{e}"') for e in logged_endpoints)
    if logged < measured:
        raise SystemExit(f"{app}: {logged} access-log lines for {measured} measured requests: the log is not running")


def summarize(results: Results, cpu_us: CpuTimes | None = None) -> dict[str, Any]:
    summary: dict[str, Any] = {}
    endpoints = [endpoint for endpoint in ENDPOINTS if endpoint in next(iter(results.values()))]
    for endpoint in endpoints:
        rows: dict[str, dict[str, Any]] = {}
        for app, per_endpoint in results.items():
            runs = per_endpoint[endpoint]
            rows[app] = {
                "requests_per_s": median([r.requests_per_s for r in runs]),
                "p50_ms": median([r.p50_ms for r in runs]),
                "p99_ms": median([r.p99_ms for r in runs]),
                "errors": sum(r.errors for r in runs),
                "server_cpu_us_per_request": median(cpu_us[app][endpoint]) if cpu_us else None,
                "server_cpu_us_runs": [round(v, 1) for v in cpu_us[app][endpoint]] if cpu_us else None,
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
        if cpu_us and "bare" in rows:
            # Every app against bare, round by round (both measured in the same round): the spread of the ratio.
            bare_runs = cpu_us["bare"][endpoint]
            for app, row in rows.items():
                if app != "bare":
                    per_round = sorted(b / o for b, o in zip(bare_runs, cpu_us[app][endpoint], strict=True))
                    row["of_bare_by_cpu_per_round"] = [round(v, 3) for v in per_round]
                    row["of_bare_by_cpu"] = median(per_round)
        summary[endpoint] = {"apps": rows, "ratios": ratios}
    return summary


def render(summary: dict[str, Any], env: dict[str, Any], arguments: argparse.Namespace) -> str:
    lines = [
        "# Middleware cost under load",
        "",
        f"{env['date']}: {env['machine']}, Python {env['python']}, load average {env['loadavg_1m']} at start; "
        f"uvicorn {env['versions']['uvicorn']} (uvloop + httptools), fastapi {env['versions']['fastapi']}, "
        f"starlette {env['versions']['starlette']}, structlog {env['versions'].get('structlog', '?')}.",
        f"One uvicorn process per app (CPU 0), wrk -t1 -c{arguments.connections} (CPU 1), {arguments.seconds:g} s per "
        f"run, {arguments.rounds} rounds, the apps in rotating order within each round. Figures are medians over the "
        "rounds; `x bare (CPU)` is the median of the per-round ratios bare CPU / app CPU (both measured in the same "
        "round), with their range. Command: `.venv/bin/python -m benchmarks.load.middleware "
        f"--apps {','.join(arguments.apps)} --rounds {arguments.rounds} --seconds {arguments.seconds:g}`.",
        "",
    ]
    for endpoint, data in summary.items():
        lines += [
            f"## GET {endpoint}",
            "",
            "| app | req/s | p50 ms | p99 ms | errors | server CPU us/request | x bare (CPU) | range over rounds |",
            "|---|---:|---:|---:|---:|---:|---:|---|",
        ]
        for app, row in data["apps"].items():
            cpu = row["server_cpu_us_per_request"]
            of_bare = row.get("of_bare_by_cpu")
            spread = row.get("of_bare_by_cpu_per_round") or []
            lines.append(
                f"| {app} | {row['requests_per_s']:.0f} | {row['p50_ms']:.2f} | {row['p99_ms']:.2f} | {row['errors']} "
                f"| {'' if cpu is None else f'{cpu:.0f}'} | {'' if of_bare is None else f'{of_bare:.2f}'} "
                f"| {f'{spread[0]:.2f}-{spread[-1]:.2f}' if spread else ''} |"
            )
        lines.append("")
        ratios = data["ratios"]
        target = TARGET_OF_BARE[endpoint]
        ours = data["apps"].get("ours", {})
        if "of_bare_by_cpu" in ours:
            verdict = "met" if ours["of_bare_by_cpu"] >= target else f"MISSED by {target - ours['of_bare_by_cpu']:.2f}"
            lines.append(
                f"- ours / bare by server CPU per request = {ours['of_bare_by_cpu']:.2f} "
                f"(target >= {target}: {verdict})"
            )
        if "ours_of_bare" in ratios:
            lines.append(f"- ours / bare by requests/s = {ratios['ours_of_bare']:.2f}")
        if "ours_over_basehttp" in ratios:
            verdict = "met" if ratios["ours_over_basehttp"] >= TARGET_OVER_BASEHTTP else "MISSED"
            lines.append(
                f"- ours / BaseHTTPMiddleware = {ratios['ours_over_basehttp']:.2f} by requests/s, "
                f"{ratios.get('ours_over_basehttp_by_cpu', 0):.2f} by CPU (target >= {TARGET_OVER_BASEHTTP}: {verdict})"
            )
        if "ours_of_reference" in ratios:
            lines.append(f"- ours / reference (asgi-correlation-id + CORS) = {ratios['ours_of_reference']:.2f}")
        lines.append("")
    lines += [
        "Where the time goes, layer by layer: `load-breakdown.md` (`python -m benchmarks.load.breakdown`). Findings:",
        "benchmarks/load/README.md.",
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
