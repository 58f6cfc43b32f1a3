"""Find (or install) wrk, run it against one URL and parse what it measured.

wrk prints a human summary whose units change with the magnitude (us, ms, s); instead of parsing that, a small Lua
``done`` hook prints one JSON line with raw microsecond figures, which is exact and cannot drift with wrk's format.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

_MARKER = "WRKJSON "

# Lua, run inside wrk: optional request headers, then one machine-readable line when the run ends.
_LUA_TEMPLATE = """
{headers}
done = function(summary, latency, requests)
  io.write(string.format(
    '{marker}{{"requests":%d,"duration_us":%d,"connect_errors":%d,"read_errors":%d,"write_errors":%d,'
    .. '"status_errors":%d,"timeouts":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d}}\\n',
    summary.requests, summary.duration, summary.errors.connect, summary.errors.read, summary.errors.write,
    summary.errors.status, summary.errors.timeout, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max))
end
"""


class ToolMissing(RuntimeError):
    """A benchmark tool is not installed and could not be installed."""


@dataclass(frozen=True)
class WrkResult:
    requests: int
    seconds: float
    requests_per_s: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    errors: int  # socket errors (connect/read/write/timeout) plus non-2xx/3xx responses

    def as_dict(self) -> dict[str, float | int]:
        return asdict(self)


def find_wrk(*, install: bool = True) -> str:
    """Path of wrk; installs the Debian package when missing and we are root, else raises ToolMissing."""
    found = shutil.which("wrk")
    if found:
        return found
    if install and os.geteuid() == 0 and shutil.which("apt-get"):
        for command in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "wrk"]):
            subprocess.run(command, check=False, capture_output=True, timeout=300)
        found = shutil.which("wrk")
        if found:
            return found
    raise ToolMissing(
        "wrk is not installed: install it (Debian/Ubuntu: `apt-get install wrk`, macOS: `brew install wrk`) and rerun"
    )


def cpu_pin(cpus: str) -> list[str]:
    """A ``taskset -c CPUS`` prefix when taskset exists and the machine has those CPUs, else nothing."""
    if shutil.which("taskset") and (os.cpu_count() or 1) > 1:
        return ["taskset", "-c", cpus]
    return []


def run_wrk(
    url: str,
    *,
    seconds: float,
    connections: int,
    threads: int = 1,
    headers: dict[str, str] | None = None,
    wrk_cpus: str | None = None,
    lua: str = "",
) -> WrkResult:
    """Drive ``url`` for ``seconds`` with ``connections`` keep-alive connections and return the figures."""
    wrk = find_wrk()
    header_lines = "\n".join(f'wrk.headers["{name}"] = "{value}"' for name, value in (headers or {}).items())
    # Extra Lua (e.g. a ``request`` function that varies the path) runs before the result hook.
    script_text = _LUA_TEMPLATE.format(headers=header_lines + "\n" + lua, marker=_MARKER)
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(script_text)
    try:
        command = [
            *(cpu_pin(wrk_cpus) if wrk_cpus else []),
            wrk,
            f"-t{threads}",
            f"-c{connections}",
            f"-d{max(1, round(seconds))}s",
            "--timeout",
            "5s",
            "-s",
            script.name,
            url,
        ]
        completed = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60, check=False)
    finally:
        Path(script.name).unlink(missing_ok=True)
    for line in completed.stdout.splitlines():
        if line.startswith(_MARKER):
            return _parse(json.loads(line.removeprefix(_MARKER)))
    raise RuntimeError(f"wrk produced no result (exit {completed.returncode}): {completed.stderr.strip()[-500:]}")


def _parse(raw: dict[str, int]) -> WrkResult:
    seconds = raw["duration_us"] / 1_000_000
    errors = sum(raw[key] for key in ("connect_errors", "read_errors", "write_errors", "status_errors", "timeouts"))
    return WrkResult(
        requests=raw["requests"],
        seconds=round(seconds, 3),
        requests_per_s=round(raw["requests"] / seconds, 1) if seconds else 0.0,
        p50_ms=raw["p50_us"] / 1000,
        p90_ms=raw["p90_us"] / 1000,
        p99_ms=raw["p99_us"] / 1000,
        max_ms=raw["max_us"] / 1000,
        errors=errors,
    )
