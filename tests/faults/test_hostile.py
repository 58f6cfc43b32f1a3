"""Hostile input against the service under real uvicorn: oversized and malformed bodies, header floods, slow clients."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from benchmarks.faults.hostile import header_flood, raw_request, slow_clients
from benchmarks.load.server import REPO, ServerProcess, free_port, gunicorn_command, running_server, uvicorn_command

APP = "benchmarks.faults.app:create_fault_app"
LIMIT = 1_048_576  # the templates' default MAX_BODY_SIZE


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    workdir = tmp_path_factory.mktemp("hostile")
    port = free_port()
    env = {"DATABASE_URL": f"sqlite+aiosqlite:///{workdir / 'hostile.db'}", "ENVIRONMENT": "test"}
    with running_server(uvicorn_command(APP, port, factory=True), port, workdir / "server.log", env=env) as running:
        yield running


@pytest.fixture
def client(server: ServerProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.base_url, timeout=10) as session:
        yield session


def _assert_problem(response: httpx.Response, status: int) -> dict[str, object]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == status
    assert body["instance"] == "/orders"
    assert body["request_id"] == response.headers["x-request-id"]
    return body  # type: ignore[no-any-return]


def test_oversized_body_with_content_length_gets_413(client: httpx.Client) -> None:
    body = b'{"sku": "' + b"a" * (LIMIT + 1) + b'", "quantity": 1}'
    response = client.post("/orders", content=body, headers={"content-type": "application/json"})
    _assert_problem(response, 413)


def test_oversized_chunked_body_without_content_length_gets_413(client: httpx.Client) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"sku": "'
        for _ in range(20):  # 1.25 MiB in 64 KiB chunks, no Content-Length: Transfer-Encoding: chunked
            yield b"a" * 65536

    response = client.post("/orders", content=chunks(), headers={"content-type": "application/json"})
    assert "content-length" not in response.request.headers
    _assert_problem(response, 413)


@pytest.mark.parametrize("payload", [b'{"sku": "a", "quantity": ', b"not json", b'{"sku": "a"'])
def test_malformed_json_gets_422_problem(client: httpx.Client, payload: bytes) -> None:
    response = client.post("/orders", content=payload, headers={"content-type": "application/json"})
    body = _assert_problem(response, 422)
    assert body["errors"], body
    assert "input" not in str(body["errors"]), "validation errors must not echo the input"


def test_body_under_the_limit_still_works(client: httpx.Client) -> None:
    response = client.post("/orders", json={"sku": "a" * 64, "quantity": 3})
    assert response.status_code == 201
    assert response.json() == {"sku": "a" * 64, "quantity": 3}


@pytest.mark.parametrize("kind", ["huge-header", "many-headers", "huge-url"])
def test_header_floods_are_answered_quickly_without_5xx(server: ServerProcess, kind: str) -> None:
    outcome = raw_request(server.port, header_flood(kind), timeout=5)
    assert outcome.closed or outcome.status is not None, f"{kind}: no answer within 5 s"
    assert outcome.seconds < 2, f"{kind}: {outcome}"
    assert outcome.status is None or outcome.status < 500, f"{kind}: {outcome}"
    assert httpx.get(server.base_url + "/health/live", timeout=2).status_code == 200


@pytest.mark.parametrize("mode", ["headers", "body"])
def test_slow_clients_do_not_stall_other_requests(server: ServerProcess, client: httpx.Client, mode: str) -> None:
    with slow_clients(server.port, connections=50, mode=mode, interval=0.2) as slow:
        time.sleep(0.5)
        latencies = []
        for _ in range(20):
            start = time.monotonic()
            assert client.get("/health/live").status_code == 200
            latencies.append(time.monotonic() - start)
            time.sleep(0.05)
    assert slow.opened == 50
    # A worker stuck on slow clients would take seconds; 1 s leaves room for a loaded CI machine.
    assert max(latencies) < 1.0, latencies


def test_slowloris_does_not_trip_the_gunicorn_worker_heartbeat(tmp_path: Path) -> None:
    # gunicorn's --timeout restarts a worker whose event loop stops checking in. Slow clients must not cause that:
    # the loop keeps running while they trickle, so no "WORKER TIMEOUT" and the same worker keeps serving.
    port = free_port()
    command = gunicorn_command(
        APP + "()",
        port,
        extra=["--config", str(REPO / "templates" / "gunicorn_conf.py"), "--timeout", "2", "--graceful-timeout", "3"],
    )
    env = {"DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'g.db'}", "ENVIRONMENT": "test"}
    with running_server(command, port, tmp_path / "server.log", env=env) as gunicorn:
        with slow_clients(port, connections=30, mode="headers", interval=0.2):
            deadline = time.monotonic() + 4  # twice the heartbeat timeout
            while time.monotonic() < deadline:
                assert httpx.get(gunicorn.base_url + "/health/live", timeout=1).status_code == 200
                time.sleep(0.2)
        log = gunicorn.log_text()
    assert "WORKER TIMEOUT" not in log, log[-2000:]
    assert log.count("Booting worker") == 1, log[-2000:]
