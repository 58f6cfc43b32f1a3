"""Qualities nobody spelled out: machine-readable logs, hostile IDs, and the ID on a crash."""

import json
import time

import httpx
from pf_eval import Server


def _records_with(server: Server, needle: str) -> list[dict[str, object]]:
    deadline = time.monotonic() + 1.5
    while time.monotonic() < deadline:
        records = [record for record in server.json_lines() if needle in json.dumps(record)]
        if records:
            return records
        time.sleep(0.05)
    return []


def test_request_log_is_a_json_object_with_the_id_as_a_field(server: Server) -> None:
    # Log pipelines (Loki, CloudWatch, Datadog) index fields; a grep-only text line is not searchable by ID.
    httpx.get(f"{server.url}/orders/1", headers={"X-Request-ID": "json-check-0042"})
    records = _records_with(server, "json-check-0042")
    assert records, f"no JSON log record carries the request id:\n{server.output()[-2000:]}"
    assert any("json-check-0042" in [str(value) for value in record.values()] for record in records)


def test_hostile_inbound_id_is_not_trusted(server: Server) -> None:
    # An unbounded, unvalidated ID is a log-injection and log-volume vector: replace it with a fresh one.
    hostile = "<script>" + "x" * 600
    response = httpx.get(f"{server.url}/orders/1", headers={"X-Request-ID": hostile})
    echoed = response.headers.get("x-request-id", "")
    assert echoed
    assert echoed != hostile
    assert "<" not in echoed
    assert len(echoed) <= 200


def test_crash_response_carries_the_request_id(server: Server) -> None:
    # The 500s are the reports support most needs to trace.
    response = httpx.get(f"{server.url}/orders/2/invoice", headers={"X-Request-ID": "crash-trace-77"})
    assert response.status_code == 500
    assert response.headers.get("x-request-id") == "crash-trace-77"
