"""Run a real ASGI server (uvicorn or gunicorn) as a subprocess on a free loopback port.

Both the load benchmarks and the fault suite use this: the server's stdout and stderr go to one log file so a run can
be checked afterwards (access-log lines, lifespan cleanup), and stopping always ends the process group it started.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[2]
PYTHON = sys.executable


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def uvicorn_command(target: str, port: int, *, factory: bool = False, extra: Sequence[str] = ()) -> list[str]:
    """uvicorn serving ``module:attribute`` on loopback with its own access log off (apps log their own)."""
    command = [PYTHON, "-m", "uvicorn", target, "--host", "127.0.0.1", "--port", str(port), "--no-access-log"]
    if factory:
        command.append("--factory")
    return [*command, *extra]


def gunicorn_command(target: str, port: int, *, workers: int = 1, extra: Sequence[str] = ()) -> list[str]:
    """gunicorn with the maintained uvicorn-worker class, bound to loopback."""
    return [
        PYTHON,
        "-m",
        "gunicorn",
        target,
        "--worker-class",
        "uvicorn_worker.UvicornWorker",
        "--workers",
        str(workers),
        "--bind",
        f"127.0.0.1:{port}",
        *extra,
    ]


@dataclass
class ServerProcess:
    """A started server: its process, port and log file."""

    process: subprocess.Popen[bytes]
    port: int
    log_path: Path
    started_at: float = field(default_factory=time.monotonic)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")

    def signal(self, signum: int) -> None:
        self.process.send_signal(signum)

    def wait_exit(self, timeout: float) -> int | None:
        """The exit code, or None if the process still runs after ``timeout`` seconds."""
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def cpu_seconds(self) -> float:
        """User plus system CPU time used so far by every live process in the server's process group.

        Throughput on a shared machine moves with everyone else's load; CPU time per request barely does, so the
        benchmarks report both.
        """
        tick = os.sysconf("SC_CLK_TCK")
        total = 0
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue  # the process ended while we looked
            # After the command name: state is field 3, pgrp field 5, utime 14, stime 15 (1-based, man 5 proc).
            if int(fields[2]) == self.process.pid:
                total += int(fields[11]) + int(fields[12])
        return total / tick

    def kill(self) -> None:
        """End the process group this runner started (gunicorn's workers included)."""
        if self.process.poll() is None:
            with suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)


def start_server(
    command: Sequence[str],
    port: int,
    log_path: Path,
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path = REPO,
    ready_path: str = "/health/live",
    ready_timeout: float = 30.0,
    cpu_prefix: Sequence[str] = (),
) -> ServerProcess:
    """Start ``command`` and wait until ``ready_path`` answers (any status below 500)."""
    full_env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    log_file = log_path.open("wb")
    process = subprocess.Popen(
        [*cpu_prefix, *command],
        cwd=cwd,
        env=full_env,
        stdout=log_file,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group, so kill() reaches every worker and nothing else
    )
    log_file.close()
    server = ServerProcess(process=process, port=port, log_path=log_path)
    deadline = time.monotonic() + ready_timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"server exited with {process.returncode} before it was ready:\n{server.log_text()[-3000:]}"
            )
        try:
            response = httpx.get(server.base_url + ready_path, timeout=1.0)
            if response.status_code < 500:
                return server
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    server.kill()
    raise RuntimeError(f"server not ready on port {port} within {ready_timeout}s:\n{server.log_text()[-3000:]}")


@contextmanager
def running_server(
    command: Sequence[str],
    port: int,
    log_path: Path,
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path = REPO,
    ready_path: str = "/health/live",
    ready_timeout: float = 30.0,
    cpu_prefix: Sequence[str] = (),
) -> Iterator[ServerProcess]:
    """``start_server`` as a context manager that always ends the process."""
    server = start_server(
        command,
        port,
        log_path,
        env=env,
        cwd=cwd,
        ready_path=ready_path,
        ready_timeout=ready_timeout,
        cpu_prefix=cpu_prefix,
    )
    try:
        yield server
    finally:
        if server.process.poll() is None:
            server.signal(signal.SIGTERM)
            if server.wait_exit(15) is None:
                server.kill()
