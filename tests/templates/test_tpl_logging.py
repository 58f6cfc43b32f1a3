"""logging_config.py: one JSON pipeline for structlog, stdlib and uvicorn records, with the request's context."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import AsyncIterator
from typing import Any

import pytest
import structlog
from fastapi import APIRouter
from fastapi.responses import StreamingResponse
from tpl_support import isolated_logging, json_lines, make_settings, running_app, tpl  # noqa: F401 - isolated_logging is an autouse fixture

logging_config = tpl("logging_config")

router = APIRouter()


@router.get("/work")
async def work() -> dict[str, str]:
    structlog.stdlib.get_logger("app.orders").info("order_created", order_id=7)
    # A library logging through the standard library, inside the request.
    logging.getLogger("some.library").warning("pool exhausted: %d waiting", 3)
    return {}


@router.get("/fail")
async def fail() -> None:
    password = "hunter2"  # a local variable that must not reach the log
    raise ValueError("bad state " + password[:0])


@pytest.mark.anyio
async def test_structlog_and_stdlib_lines_are_json_with_the_request_id() -> None:
    logs = io.StringIO()
    async with running_app(routers=[router], logs=logs) as (_, client):
        response = await client.get("/work", headers={"X-Request-ID": "req-logs-1"})
    records = json_lines(logs)
    by_event = {record["event"]: record for record in records}

    ours = by_event["order_created"]
    assert ours["request_id"] == "req-logs-1"
    assert ours["order_id"] == 7
    assert ours["level"] == "info"
    assert ours["logger"] == "app.orders"
    assert ours["timestamp"].endswith("Z")

    foreign = by_event["pool exhausted: 3 waiting"]
    assert foreign["request_id"] == "req-logs-1"
    assert foreign["logger"] == "some.library"
    assert foreign["level"] == "warning"

    access = by_event["request"]
    assert access["request_id"] == response.headers["x-request-id"] == "req-logs-1"
    assert access | {"duration_ms": 0, "timestamp": ""} == access | {
        "method": "GET",
        "path": "/work",
        "status": 200,
        "client": "127.0.0.1",
        "logger": "app.access",
        "duration_ms": 0,
        "timestamp": "",
    }


@pytest.mark.anyio
async def test_unhandled_error_is_logged_once_as_500_with_a_traceback_but_no_locals() -> None:
    logs = io.StringIO()
    async with running_app(routers=[router], logs=logs) as (_, client):
        response = await client.get("/fail?token=abc")
    assert response.status_code == 500
    failed = [record for record in json_lines(logs) if record["event"] == "request" and record["path"] == "/fail"]
    assert len(failed) == 1
    record = failed[0]
    assert record["status"] == 500
    assert record["path"] == "/fail"
    assert record["request_id"] == response.headers["x-request-id"]
    (exception,) = record["exception"]
    assert exception["exc_type"] == "ValueError"
    assert exception["frames"][-1]["name"] == "fail"
    assert all("locals" not in frame for frame in exception["frames"])
    assert "hunter2" not in logs.getvalue()
    # The app's own lines never carry the query string (the test client's httpx line does, and is not ours).
    app_lines = [record for record in json_lines(logs) if record.get("logger") != "httpx"]
    assert "token=abc" not in json.dumps(app_lines)


@pytest.mark.anyio
async def test_probe_requests_log_at_debug_only() -> None:
    logs = io.StringIO()
    async with running_app(logs=logs) as (_, client):
        await client.get("/health/live")
    probes = [record for record in json_lines(logs) if record.get("path") == "/health/live"]
    assert [record["level"] for record in probes] == ["debug"]


def test_uvicorn_handlers_are_replaced_so_there_is_one_format() -> None:
    import uvicorn.config

    logging.config.dictConfig(uvicorn.config.LOGGING_CONFIG)  # what uvicorn does before importing the app
    assert logging.getLogger("uvicorn.error").handlers or logging.getLogger("uvicorn").handlers
    buffer = io.StringIO()
    logging_config.configure_logging(level="INFO", json_logs=True, stream=buffer)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        assert logging.getLogger(name).handlers == []
    logging.getLogger("uvicorn.error").info("Started server process [%d]", 123)
    logging.getLogger("uvicorn.access").info("GET / 200")
    (line,) = buffer.getvalue().splitlines()
    record = json.loads(line)
    assert record["event"] == "Started server process [123]"
    assert record["logger"] == "uvicorn.error"


def test_configuring_twice_does_not_duplicate_lines() -> None:
    buffer = io.StringIO()
    logging_config.configure_logging(stream=buffer)
    logging_config.configure_logging(stream=buffer)
    structlog.stdlib.get_logger("twice").warning("once")
    assert len(buffer.getvalue().splitlines()) == 1


def test_development_renders_for_humans_not_json() -> None:
    buffer = io.StringIO()
    logging_config.configure_logging(level="INFO", json_logs=False, stream=buffer)
    structlog.stdlib.get_logger("dev").info("hello_dev", user="ada")
    line = buffer.getvalue().strip()
    assert "hello_dev" in line
    assert "user" in line
    with pytest.raises(json.JSONDecodeError):
        json.loads(line)


def test_level_filters_records() -> None:
    buffer = io.StringIO()
    logging_config.configure_logging(level="WARNING", stream=buffer)
    structlog.stdlib.get_logger("lvl").info("hidden")
    logging.getLogger("lvl.std").info("hidden too")
    structlog.stdlib.get_logger("lvl").error("shown")
    assert [json.loads(line)["event"] for line in buffer.getvalue().splitlines()] == ["shown"]


def test_create_app_picks_console_in_development_and_json_otherwise(capsys: pytest.CaptureFixture[str]) -> None:
    tpl("main").create_app(make_settings(environment="production"))
    structlog.stdlib.get_logger("prod").info("json_line")
    tpl("main").create_app(make_settings(environment="development"))
    structlog.stdlib.get_logger("dev").info("console_line")
    out = capsys.readouterr().out.splitlines()
    json_line = next(line for line in out if "json_line" in line)
    console_line = next(line for line in out if "console_line" in line)
    assert json.loads(json_line)["event"] == "json_line"
    assert not console_line.startswith("{")


stream_router = APIRouter()


@stream_router.get("/stream")
async def stream() -> Any:
    async def chunks() -> AsyncIterator[bytes]:
        yield b"first chunk\n"
        raise RuntimeError("upstream vanished")

    return StreamingResponse(chunks())


@pytest.mark.anyio
async def test_a_failure_after_the_response_started_logs_the_status_actually_sent() -> None:
    logs = io.StringIO()
    async with running_app(routers=[stream_router], logs=logs) as (_, client):
        # The status line and first chunk were already sent when the stream failed.
        response = await client.get("/stream")
    assert response.status_code == 200
    assert response.content.startswith(b"first chunk")
    (record,) = [r for r in json_lines(logs) if r["event"] == "request" and r["path"] == "/stream"]
    assert record["level"] == "error"
    assert record["status"] == 200
    assert record["exception"][0]["exc_type"] == "RuntimeError"


def test_structlog_events_skip_stdlib_unless_asked(caplog: pytest.LogCaptureFixture) -> None:
    buffer = io.StringIO()
    logging_config.configure_logging(level="INFO", stream=buffer)
    # configure_logging replaces the root handlers, caplog's included: put it back, as a user's own handler.
    logging.getLogger().addHandler(caplog.handler)
    with caplog.at_level(logging.INFO):
        structlog.stdlib.get_logger("app.fast").info("fast_path", n=1)
        logging.getLogger("lib.std").info("foreign %s", "record")
    # The fast path: rendered by structlog and written directly, no LogRecord on the way.
    assert [r.getMessage() for r in caplog.records] == ["foreign record"]
    lines = [json.loads(line) for line in buffer.getvalue().splitlines()]
    assert [(r["event"], r["logger"], r["level"]) for r in lines] == [
        ("fast_path", "app.fast", "info"),
        ("foreign record", "lib.std", "info"),
    ]
    # Both paths produce the same fields.
    assert lines[0].keys() - {"n"} == lines[1].keys()


def test_routing_through_stdlib_keeps_caplog_and_the_same_json(caplog: pytest.LogCaptureFixture) -> None:
    buffer = io.StringIO()
    logging_config.configure_logging(level="INFO", stream=buffer, route_through_stdlib=True)
    # configure_logging replaces the root handlers, caplog's included: put it back, as a user's own handler.
    logging.getLogger().addHandler(caplog.handler)
    with caplog.at_level(logging.INFO):
        structlog.stdlib.get_logger("app.slow").info("via_stdlib", n=2)
    assert len(caplog.records) == 1
    (line,) = [json.loads(line) for line in buffer.getvalue().splitlines()]
    assert line | {"timestamp": ""} == {
        "event": "via_stdlib",
        "n": 2,
        "logger": "app.slow",
        "level": "info",
        "timestamp": "",
    }


def test_an_unknown_level_is_refused_with_the_choices() -> None:
    with pytest.raises(ValueError, match="unknown log level 'LOUD': use DEBUG, INFO"):
        logging_config.configure_logging(level="LOUD", stream=io.StringIO())


def test_positional_arguments_and_exc_info_on_the_fast_path() -> None:
    buffer = io.StringIO()
    logging_config.configure_logging(level="DEBUG", stream=buffer)
    log = structlog.stdlib.get_logger("app.fmt")
    log.debug("waited %d ms", 12)
    try:
        raise KeyError("order-7")
    except KeyError as error:
        log.warning("lookup_failed", exc_info=error)
    first, second = [json.loads(line) for line in buffer.getvalue().splitlines()]
    assert first["event"] == "waited 12 ms"
    assert first["level"] == "debug"
    assert second["exception"][0]["exc_type"] == "KeyError"


class _Opaque:
    """A context value JSON can't encode: structlog's renderer falls back to its repr."""

    def __repr__(self) -> str:
        return "<opaque>"


def _without_timestamp(line: str) -> tuple[str, str]:
    head, _, stamp = line.rpartition('"timestamp": ')
    return head, stamp


@pytest.mark.parametrize(
    "bound",
    [{}, {"request_id": "r-1", "tenant": "t-9"}, {"path": "/bound-wins-not", "level": "x", "nested": {"a": [1, 2.5]}}],
    ids=["no-context", "context", "colliding-keys"],
)
def test_json_lines_render_the_bytes_structlog_renders(bound: dict[str, Any]) -> None:
    buffer = io.StringIO()
    logging_config.configure_logging(level="INFO", stream=buffer)
    output = logging_config.json_lines()
    assert output is not None
    fields = {"status": 200, "duration_ms": 1.25, "method": "GET", "path": "/x", "client": None}
    with structlog.contextvars.bound_contextvars(**bound):
        structlog.stdlib.get_logger("app.access").info("request", **fields)
        line = output.render("info", "app.access", "request", fields)
    assert line is not None
    by_structlog = buffer.getvalue().rstrip("\n")
    assert _without_timestamp(line)[0] == _without_timestamp(by_structlog)[0]
    stamp_format = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?Z")
    assert stamp_format.fullmatch(json.loads(line)["timestamp"])
    assert stamp_format.fullmatch(json.loads(by_structlog)["timestamp"])


def test_json_lines_leave_what_only_structlog_can_render_to_structlog() -> None:
    logging_config.configure_logging(level="INFO", stream=io.StringIO())
    output = logging_config.json_lines()
    assert output is not None
    with structlog.contextvars.bound_contextvars(opaque=_Opaque()):
        assert output.render("info", "app.access", "request", {}) is None
    with structlog.contextvars.bound_contextvars(stack_info=True):
        assert output.render("info", "app.access", "request", {}) is None


@pytest.mark.anyio
async def test_the_access_line_falls_back_to_structlog_and_renders_the_same() -> None:
    logs = io.StringIO()
    async with running_app(routers=[router], logs=logs) as (_, client):
        with structlog.contextvars.bound_contextvars(opaque=_Opaque()):
            await client.get("/work", headers={"X-Request-ID": "req-opaque"})
    access = [line for line in json_lines(logs) if line["logger"] == "app.access"]
    assert access[0]["opaque"] == "<opaque>"
    assert access[0]["request_id"] == "req-opaque"


def test_json_lines_exist_only_while_the_native_json_configuration_runs() -> None:
    logging_config.configure_logging(level="INFO", stream=io.StringIO())
    assert logging_config.json_lines() is not None
    with structlog.testing.capture_logs():
        assert logging_config.json_lines() is None
    assert logging_config.json_lines() is not None
    logging_config.configure_logging(level="INFO", json_logs=False, stream=io.StringIO())
    assert logging_config.json_lines() is None
    logging_config.configure_logging(level="INFO", stream=io.StringIO(), route_through_stdlib=True)
    assert logging_config.json_lines() is None
