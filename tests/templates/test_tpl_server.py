"""The templates under real servers: uvicorn and gunicorn (uvicorn-worker) subprocesses, SIGTERM, JSON logs."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from helpers import TEMPLATES, free_port

BIN = Path(sys.executable).parent
GRACEFUL = ("--timeout-graceful-shutdown", "10")

SERVICE = """
import asyncio

from fastapi import APIRouter, Request
from sqlalchemy import text

from .database import SessionDep
from .main import create_app

router = APIRouter()
in_flight = 0


@router.get("/slow")
async def slow(seconds: float = 1.0) -> dict[str, float]:
    global in_flight
    in_flight += 1
    try:
        await asyncio.sleep(seconds)
    finally:
        in_flight -= 1
    return {"slept": seconds}


@router.post("/upload")
async def upload(request: Request) -> dict[str, int]:
    return {"size": len(await request.body())}


@router.get("/in-flight")
async def count() -> dict[str, int]:
    return {"in_flight": in_flight}


@router.get("/boom")
async def boom() -> None:
    raise RuntimeError("internal detail")


@router.get("/db-down")
async def db_down(session: SessionDep) -> int:
    # DATABASE_URL points into a directory that does not exist: a real OperationalError on first use.
    return int((await session.execute(text("SELECT 1"))).scalar_one())


app = create_app(routers=[router])
"""


@pytest.fixture
def service_dir(tmp_path: Path) -> Path:
    """The templates copied verbatim into a package named ``app``, plus a module with slow and failing routes."""
    package = tmp_path / "app"
    shutil.copytree(TEMPLATES, package, ignore=shutil.ignore_patterns("__pycache__", "Dockerfile", ".dockerignore"))
    (package / "service.py").write_text(SERVICE, encoding="utf-8")
    return tmp_path


def service_env(home: Path, **extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("UVICORN_", "GUNICORN_"))}
    env.update(
        ENVIRONMENT="production",
        LOG_LEVEL="INFO",
        DATABASE_URL="sqlite+aiosqlite:///:memory:",
        APP_NAME="pf-tpl-server",
        PYTHONUNBUFFERED="1",
        HOME=str(home),
    )
    env.pop("REDIS_URL", None)
    env.update(extra)
    return env


def wait_until_live(process: subprocess.Popen[str], port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"server exited early with {process.returncode}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health/live", timeout=0.5).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError("server did not become live in time")


@pytest.fixture
def start_server(service_dir: Path) -> Iterator[Any]:
    started: list[subprocess.Popen[str]] = []

    def start(command: list[str], env: dict[str, str]) -> subprocess.Popen[str]:
        process = subprocess.Popen(
            command, cwd=service_dir, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        started.append(process)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
            process.communicate(timeout=10)


def sigterm_during_slow_requests(process: subprocess.Popen[str], port: int, count: int = 3) -> list[httpx.Response]:
    """Start ``count`` slow requests, SIGTERM the server while they run, return their responses."""
    with ThreadPoolExecutor(max_workers=count) as pool:
        futures = [
            pool.submit(httpx.get, f"http://127.0.0.1:{port}/slow", params={"seconds": 2.0}, timeout=10)
            for _ in range(count)
        ]
        # SIGTERM only once every request is inside the handler (not merely queued in the kernel).
        deadline = time.monotonic() + 10
        while httpx.get(f"http://127.0.0.1:{port}/in-flight", timeout=2).json()["in_flight"] < count:
            assert time.monotonic() < deadline, "the slow requests never reached the handler"
            time.sleep(0.02)
        process.send_signal(signal.SIGTERM)
        return [future.result() for future in futures]


def parse_json_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


@pytest.mark.timeout(60)
def test_uvicorn_body_limit_500_sigterm_drain_and_json_logs(start_server: Any, service_dir: Path) -> None:
    port = free_port()
    process = start_server(
        [str(BIN / "uvicorn"), "app.service:app", "--host", "127.0.0.1", "--port", str(port), *GRACEFUL],
        service_env(service_dir, MAX_BODY_SIZE="1000"),
    )
    wait_until_live(process, port)
    upload = f"http://127.0.0.1:{port}/upload"
    fits = httpx.post(upload, content=b"f" * 1000, timeout=10)
    declared = httpx.post(upload, content=b"d" * 5_000_000, timeout=10)
    streamed = httpx.post(upload, content=(b"s" * 100_000 for _ in range(50)), timeout=10)
    assert fits.json() == {"size": 1000}
    for response in (declared, streamed):
        assert response.status_code == 413
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["request_id"] == response.headers["x-request-id"]

    failed = httpx.get(f"http://127.0.0.1:{port}/boom", headers={"X-Request-ID": "srv-500"}, timeout=5)
    assert failed.status_code == 500
    assert failed.headers["x-request-id"] == "srv-500"
    assert failed.json()["request_id"] == "srv-500"

    responses = sigterm_during_slow_requests(process, port)
    stdout, stderr = process.communicate(timeout=20)

    assert [response.status_code for response in responses] == [200, 200, 200]
    assert [response.json() for response in responses] == [{"slept": 2.0}] * 3
    # uvicorn re-raises the signal it caught once shutdown is complete, so the exit status reports SIGTERM.
    assert process.returncode == -signal.SIGTERM, stderr

    # Every stdout line is JSON: ours, the access lines and uvicorn's own lifecycle lines alike.
    records = parse_json_lines(stdout)
    slow = [r for r in records if r.get("event") == "request" and r.get("path") == "/slow"]
    assert len(slow) == 3
    assert all(len(r["request_id"]) == 32 for r in slow)
    assert {r["request_id"] for r in slow} == {response.headers["x-request-id"] for response in responses}
    (crash,) = [r for r in records if r.get("event") == "request" and r.get("path") == "/boom"]
    assert crash["level"] == "error"
    assert crash["status"] == 500
    assert crash["request_id"] == "srv-500"
    assert crash["exception"][0]["exc_type"] == "RuntimeError"
    # uvicorn logs the exception a second time, outside the request's context; the note still ties it to the ID.
    (server_trace,) = [r for r in records if r["event"].startswith("Exception in ASGI application")]
    assert server_trace["exception"][0]["exc_notes"] == ["request_id: srv-500"]
    uvicorn_events = {r["event"] for r in records if r.get("logger", "").startswith("uvicorn")}
    assert not any("color_message" in r for r in records)
    assert "Application shutdown complete." in uvicorn_events
    assert any(event.startswith("Started server process") for event in uvicorn_events)
    assert "shutdown_started" in {r["event"] for r in records}
    # uvicorn's access logger is muted (ours replaces it): no "GET /slow HTTP/1.1" lines anywhere.
    assert 'HTTP/1.1" 200' not in stdout + stderr


@pytest.mark.timeout(60)
def test_keep_alive_connections_survive_database_outages_and_500s(service_dir: Path) -> None:
    port = free_port()
    unreachable = f"sqlite+aiosqlite:///{service_dir}/missing-dir/app.db"
    # Output to a file, not a pipe: every failure logs a traceback, and a full pipe would stall the server.
    with (service_dir / "server.log").open("w") as log:
        process = subprocess.Popen(
            [str(BIN / "uvicorn"), "app.service:app", "--host", "127.0.0.1", "--port", str(port)],
            cwd=service_dir,
            env=service_env(service_dir, DATABASE_URL=unreachable),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_until_live(process, port)
        peers = keep_alive_round_trips(port)
    finally:
        process.terminate()
        process.wait(timeout=20)
    # 503 and the request after it shared one connection every time.
    assert all(peers[i] == peers[i + 1] for i in range(0, len(peers), 2))


def keep_alive_round_trips(port: int) -> list[int]:
    """Database outages and crashes over one keep-alive client; the client ports of each 503 and its successor."""
    peers: list[int] = []
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=5) as keep_alive:
        for _ in range(5):
            # Handled as a 503: the same connection serves the next request.
            failed = keep_alive.get("/db-down")
            assert failed.status_code == 503
            assert failed.headers["retry-after"] == "5"
            assert "connection" not in failed.headers
            live = keep_alive.get("/health/live")
            assert live.status_code == 200
            peers.append(failed.extensions["network_stream"].get_extra_info("client_addr")[1])
            peers.append(live.extensions["network_stream"].get_extra_info("client_addr")[1])
            # A real bug: uvicorn drops the connection after the 500, and the 500 says so, so httpx opens a new
            # one for the next request instead of racing the close.
            crashed = keep_alive.get("/boom")
            assert crashed.status_code == 500
            assert crashed.headers["connection"] == "close"
            assert keep_alive.get("/health/live").status_code == 200
    return peers


@pytest.mark.timeout(60)
def test_gunicorn_with_the_template_config_serves_and_drains_on_sigterm(start_server: Any, service_dir: Path) -> None:
    port = free_port()
    process = start_server(
        [str(BIN / "gunicorn"), "-c", "python:app.gunicorn_conf", "app.service:app"],
        service_env(service_dir, PORT=str(port), WEB_CONCURRENCY="1", GRACEFUL_TIMEOUT="10"),
    )
    wait_until_live(process, port)
    responses = sigterm_during_slow_requests(process, port, count=2)
    stdout, stderr = process.communicate(timeout=30)
    assert [response.status_code for response in responses] == [200, 200]
    assert process.returncode == 0, stderr
    assert "Using worker: uvicorn_worker.UvicornWorker" in stderr
    assert "Traceback" not in stderr
    assert not (service_dir / ".gunicorn").exists()
    records = parse_json_lines(stdout)
    assert len([r for r in records if r.get("path") == "/slow"]) == 2
    # The worker ran the lifespan shutdown before exiting.
    assert "shutdown_started" in {r["event"] for r in records}


def test_gunicorn_conf_values(monkeypatch: pytest.MonkeyPatch) -> None:
    import runpy

    monkeypatch.setenv("TRUSTED_PROXIES", "10.0.0.5,10.0.0.6")
    monkeypatch.setenv("WEB_CONCURRENCY", "3")
    monkeypatch.delenv("PORT", raising=False)
    monkeypatch.delenv("GRACEFUL_TIMEOUT", raising=False)
    conf = runpy.run_path(str(TEMPLATES / "gunicorn_conf.py"))
    assert conf["worker_class"] == "uvicorn_worker.UvicornWorker"
    assert conf["bind"] == "0.0.0.0:8000"
    assert conf["workers"] == 3
    assert 0 < conf["graceful_timeout"] < 30  # Kubernetes' default terminationGracePeriodSeconds
    assert conf["max_requests"] > 0
    assert 0 < conf["max_requests_jitter"] < conf["max_requests"]
    assert conf["forwarded_allow_ips"] == "10.0.0.5,10.0.0.6"
    assert conf["keepalive"] > 60
    assert conf["control_socket_disable"] is True


def test_gunicorn_conf_trusts_no_proxy_by_default_and_rejects_bad_numbers(monkeypatch: pytest.MonkeyPatch) -> None:
    import runpy

    from gunicorn.config import Config

    monkeypatch.delenv("TRUSTED_PROXIES", raising=False)
    conf = runpy.run_path(str(TEMPLATES / "gunicorn_conf.py"))
    config = Config()
    config.set("forwarded_allow_ips", conf["forwarded_allow_ips"])
    assert config.forwarded_allow_ips == []  # gunicorn's own default would be 127.0.0.1,::1

    monkeypatch.setenv("WEB_CONCURRENCY", "many")
    with pytest.raises(SystemExit, match="WEB_CONCURRENCY must be a whole number"):
        runpy.run_path(str(TEMPLATES / "gunicorn_conf.py"))
