"""``gc.freeze()`` under gunicorn's fork: where (master before the fork, worker after startup) and whether it pays.

One gunicorn process group per variant, each with one uvicorn worker (the templates' default), pinned to CPU 0;
wrk drives them from CPU 1 in rotating order, round after round, and the server CPU per request (master and worker)
is the figure. Variants:

- ``bare``: bare FastAPI, the reference;
- ``unfrozen``: the templates' app with the lifespan's garbage-collector step undone (``apps.ours_unfrozen``);
- ``worker``: the templates' app as shipped: ``gc.freeze()`` and higher thresholds at the end of the lifespan
  startup, which runs in the worker, after the fork;
- ``master``: the app preloaded in gunicorn's master (``--preload``), ``gc.freeze()`` in the ``pre_fork`` hook, and
  the lifespan's step undone in the worker;
- ``both``: preloaded and frozen in the master before the fork, and the lifespan's step in the worker.

    .venv/bin/python -m benchmarks.load.gc_fork [--seconds 6] [--rounds 5] [--endpoint /work]

Prints the table; nothing is written (the figures go into results/load-middleware.md by hand, with this command).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from contextlib import ExitStack
from pathlib import Path

from benchmarks.load.server import free_port, gunicorn_command, running_server
from benchmarks.load.wrk import cpu_pin, run_wrk

# Loaded by gunicorn with -c: freeze whatever the preloaded master holds right before each worker is forked.
HOOKS = """
import gc


def pre_fork(server, worker):
    gc.freeze()
"""

VARIANTS: dict[str, tuple[str, bool]] = {
    # name: (app factory call, preload + freeze in the master)
    "bare": ("benchmarks.load.apps:bare()", False),
    "unfrozen": ("benchmarks.load.apps:ours_unfrozen()", False),
    "worker": ("benchmarks.load.apps:ours()", False),
    "master": ("benchmarks.load.apps:ours_unfrozen()", True),
    "both": ("benchmarks.load.apps:ours()", True),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--endpoint", default="/work")
    arguments = parser.parse_args(argv)
    cpu: dict[str, list[float]] = {name: [] for name in VARIANTS}
    rps: dict[str, list[float]] = {name: [] for name in VARIANTS}
    with tempfile.TemporaryDirectory(prefix="pf-gc-") as workdir, ExitStack() as stack:
        hooks = Path(workdir) / "hooks.py"
        hooks.write_text(HOOKS)
        servers = {}
        for name, (target, in_master) in VARIANTS.items():
            port = free_port()
            extra = ["--log-level", "warning", "--access-logfile", "/dev/null"]
            if in_master:
                extra += ["--preload", "-c", str(hooks)]
            servers[name] = stack.enter_context(
                running_server(
                    gunicorn_command(target, port, extra=extra),
                    port,
                    Path(workdir) / f"{name}.log",
                    env={"LOG_LEVEL": "WARNING"},
                    ready_path="/hello",
                    cpu_prefix=cpu_pin("0"),
                )
            )
        names = list(VARIANTS)
        for server in servers.values():
            run_wrk(server.base_url + arguments.endpoint, seconds=2, connections=arguments.connections, wrk_cpus="1")
        for round_number in range(arguments.rounds):
            for name in names[round_number % len(names) :] + names[: round_number % len(names)]:
                before = servers[name].cpu_seconds()
                result = run_wrk(
                    servers[name].base_url + arguments.endpoint,
                    seconds=arguments.seconds,
                    connections=arguments.connections,
                    wrk_cpus="1",
                )
                cpu[name].append((servers[name].cpu_seconds() - before) * 1e6 / max(1, result.requests))
                rps[name].append(result.requests_per_s)
                print(
                    f"  round {round_number + 1} {name:8} {result.requests_per_s:7.0f} req/s "
                    f"{cpu[name][-1]:7.1f} us CPU  errors {result.errors}",
                    flush=True,
                )
    print(f"\nGET {arguments.endpoint} under gunicorn (1 uvicorn worker), {arguments.rounds} rounds:\n")
    print("| variant | req/s | server CPU us/request | x bare (CPU, per-round median) | range |")
    print("|---|---:|---:|---:|---|")
    for name in names:
        ratios = sorted(b / o for b, o in zip(cpu["bare"], cpu[name], strict=True))
        print(
            f"| {name} | {statistics.median(rps[name]):.0f} | {statistics.median(cpu[name]):.0f} "
            f"| {statistics.median(ratios):.2f} | {ratios[0]:.2f}-{ratios[-1]:.2f} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
