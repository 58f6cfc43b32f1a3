"""SIGTERM to real uvicorn and gunicorn (uvicorn-worker) with slow requests in flight and new ones arriving."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from benchmarks.faults.shutdown import ShutdownReport, sigterm_under_load
from benchmarks.load.server import REPO, free_port, gunicorn_command, running_server, uvicorn_command

APP = "benchmarks.faults.app:create_fault_app"
IN_FLIGHT = 10
SLOW_SECONDS = 2.0
GRACEFUL_TIMEOUT = 8
# uvicorn re-raises the signal once its graceful shutdown is done, so a clean stop ends "killed by SIGTERM".
CLEAN_UVICORN_EXIT = {0, -signal.SIGTERM}


def _env(tmp_path: Path) -> dict[str, str]:
    return {"DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'faults.db'}", "ENVIRONMENT": "test"}


def _assert_arrivals_refused_cleanly(report: ShutdownReport) -> None:
    assert set(report.arrivals) <= {"ok", "refused", "reset"}, report.as_dict()
    assert report.arrivals["refused"] > 0, report.as_dict()
    # A reset arrival was never started by the app: every started one was answered in full.
    assert report.arrivals_started_by_app == report.arrivals["ok"], report.as_dict()


@pytest.mark.anyio
async def test_uvicorn_sigterm_completes_in_flight_requests(tmp_path: Path) -> None:
    port = free_port()
    command = uvicorn_command(APP, port, factory=True, extra=["--timeout-graceful-shutdown", str(GRACEFUL_TIMEOUT)])
    with running_server(command, port, tmp_path / "server.log", env=_env(tmp_path)) as server:
        report = await sigterm_under_load(
            server, in_flight=IN_FLIGHT, slow_seconds=SLOW_SECONDS, exit_timeout=GRACEFUL_TIMEOUT + 5
        )
    assert report.dropped == 0, report.as_dict()
    assert report.exit_code in CLEAN_UVICORN_EXIT, report.as_dict()
    assert SLOW_SECONDS * 0.8 <= report.exit_seconds < GRACEFUL_TIMEOUT, report.as_dict()
    assert report.cleanup_logged, server.log_text()[-3000:]
    _assert_arrivals_refused_cleanly(report)


@pytest.mark.anyio
async def test_gunicorn_sigterm_completes_in_flight_requests(tmp_path: Path) -> None:
    port = free_port()
    command = gunicorn_command(
        APP.replace(":create_fault_app", ":create_fault_app()"),
        port,
        workers=2,
        extra=["--config", str(REPO / "templates" / "gunicorn_conf.py"), "--graceful-timeout", str(GRACEFUL_TIMEOUT)],
    )
    with running_server(command, port, tmp_path / "server.log", env=_env(tmp_path)) as server:
        report = await sigterm_under_load(
            server, in_flight=IN_FLIGHT, slow_seconds=SLOW_SECONDS, exit_timeout=GRACEFUL_TIMEOUT + 5
        )
    assert report.dropped == 0, report.as_dict()
    assert report.exit_code == 0, report.as_dict()
    assert SLOW_SECONDS * 0.8 <= report.exit_seconds < GRACEFUL_TIMEOUT, report.as_dict()
    # Each of the two workers runs its own lifespan shutdown.
    log = server.log_text()
    assert log.count("shutdown_started") == 2, log[-3000:]
    assert log.count("Application shutdown complete.") == 2, log[-3000:]
    _assert_arrivals_refused_cleanly(report)
