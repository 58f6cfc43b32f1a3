"""``bash scripts/demo`` as a new user runs it, then the command it prints, followed literally.

The README's first command; its last line tells the user how to start the service. Following that line must give a
service whose ``/items`` works, that reports ready only once it can serve, and that runs in the mode ``fastapi run``
announces (production: JSON logs, no /docs).
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import time
from pathlib import Path

import httpx
import pytest

REPO = Path(__file__).resolve().parents[2]
# What `fastapi run` binds by default: the printed command names no port.
DEFAULT_PORT = 8000
# Settings a developer's shell could carry into the demo; the printed command is followed in a clean one.
SCRUBBED = ("DATABASE_URL", "REDIS_URL", "ENVIRONMENT", "FASTAPI_ENV", "APP_NAME", "PORT", "VIRTUAL_ENV")


def _port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("0.0.0.0", port))  # where `fastapi run` binds
        except OSError:
            return False
        return True


def _wait_for(url: str, process: subprocess.Popen[str], deadline: float) -> None:
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the service exited with {process.returncode}:\n{process.communicate()[1]}")
        try:
            httpx.get(url, timeout=2)
        except httpx.TransportError:
            time.sleep(0.3)
        else:
            return
    raise AssertionError(f"{url} did not answer within the deadline")


@pytest.mark.timeout(900)
def test_the_printed_command_gives_a_working_service(tmp_path: Path) -> None:
    if not _port_is_free(DEFAULT_PORT):
        pytest.skip(f"port {DEFAULT_PORT} is taken; the printed `fastapi run` command binds it")
    env = {k: v for k, v in os.environ.items() if k not in SCRUBBED and not k.startswith("PYTEST_")}
    dest = tmp_path / "demo-service"
    demo = subprocess.run(
        ["bash", "scripts/demo", str(dest)], cwd=REPO, env=env, capture_output=True, text=True, timeout=840
    )
    assert demo.returncode == 0, demo.stdout[-4000:] + demo.stderr[-4000:]
    hint = re.search(r"run it with: (.+)$", demo.stdout.strip().splitlines()[-1])
    assert hint, demo.stdout[-2000:]
    command = hint.group(1)
    assert command.startswith(f"cd {dest} && "), command

    server = subprocess.Popen(
        ["bash", "-c", command],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # the command is a chain: signal the whole group
    )
    base = f"http://127.0.0.1:{DEFAULT_PORT}"
    try:
        _wait_for(f"{base}/health/live", server, time.monotonic() + 120)
        ready = httpx.get(f"{base}/health/ready", timeout=5)
        assert ready.status_code == 200, ready.text
        assert ready.json()["checks"]["schema"] == "ok"
        created = httpx.post(f"{base}/items", json={"name": "demo", "price_cents": 100}, timeout=5)
        assert created.status_code == 201, created.text
        listed = httpx.get(f"{base}/items", timeout=5)
        assert listed.status_code == 200, listed.text
        assert "demo" in listed.text
        # `fastapi run` says production: what it serves agrees (no interactive docs).
        assert httpx.get(f"{base}/docs", timeout=5).status_code == 404
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        out, err = server.communicate(timeout=60)
    assert "production" in out + err  # fastapi-cli's banner
    access = [json.loads(line) for line in (out + err).splitlines() if line.startswith("{")]
    assert any(entry.get("event") == "request" and entry.get("path") == "/items" for entry in access), out + err
