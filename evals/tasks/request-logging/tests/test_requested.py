"""What the instruction names: the X-Request-ID header both ways, and a log line per request carrying the ID."""

import time

import httpx
from pf_eval import Server


def _wait_for(server: Server, needle: str) -> str | None:
    deadline = time.monotonic() + 1.5
    while time.monotonic() < deadline:
        for line in server.output().splitlines():
            if needle in line:
                return line
        time.sleep(0.05)
    return None


def test_inbound_request_id_is_echoed(server: Server) -> None:
    response = httpx.get(f"{server.url}/orders/1", headers={"X-Request-ID": "support-4711-abc"})
    assert response.status_code == 200
    assert response.headers.get("x-request-id") == "support-4711-abc"


def test_request_id_is_generated_when_missing(server: Server) -> None:
    first = httpx.get(f"{server.url}/orders/1").headers.get("x-request-id")
    second = httpx.get(f"{server.url}/orders/1").headers.get("x-request-id")
    assert first
    assert second
    assert first != second


def test_each_request_is_logged_with_its_id(server: Server) -> None:
    httpx.get(f"{server.url}/orders/2", headers={"X-Request-ID": "trace-me-0001"})
    line = _wait_for(server, "trace-me-0001")
    assert line is not None, f"no log line carries the request id:\n{server.output()[-2000:]}"
    assert "/orders/2" in line
    assert "200" in line
