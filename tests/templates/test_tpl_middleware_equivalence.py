"""The fused middleware behaves as the layered stack it replaced: same statuses, headers, bodies and access lines.

Both stacks (templates/middleware.py now, ``legacy_middleware`` as it was) serve the same app and the same requests;
the responses are compared header list for header list, in order, and the access-log lines byte for byte once the
timestamp, the duration and generated request IDs (random in both) are replaced by placeholders.
"""

from __future__ import annotations

import asyncio
import io
import json
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import legacy_middleware
import pytest
import structlog
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse
from tpl_support import isolated_logging, make_settings, tpl  # noqa: F401 - isolated_logging is an autouse fixture

middleware = tpl("middleware")
ALLOWED = "https://app.example.com"

router = APIRouter()


@router.get("/whoami")
async def whoami(request: Request) -> dict[str, str | None]:
    return {
        "request_id": middleware.get_request_id(),
        "client": request.client.host if request.client else None,
        "scheme": request.url.scheme,
    }


@router.get("/bound")
async def bound() -> dict[str, str]:
    # A field bound inside the request reaches the access line (merge_contextvars), in both stacks.
    structlog.contextvars.bind_contextvars(user_id="u-42")
    return {}


@router.get("/items/{item_id}")
async def item(item_id: int) -> dict[str, int]:
    return {"id": item_id}


@router.post("/echo-size")
async def echo_size(request: Request) -> dict[str, int]:
    return {"size": len(await request.body())}


@router.post("/ignores-body")
async def ignores_body() -> dict[str, str]:
    return {"read": "nothing"}


@router.post("/own-413")
async def own_413() -> PlainTextResponse:
    return PlainTextResponse("quota exceeded", status_code=413)


@router.get("/boom")
async def boom() -> None:
    raise RuntimeError("kaput")


@router.get("/own-headers")
async def own_headers() -> JSONResponse:
    # Every header the middleware manages, set by the app itself: kept, replaced or extended by the rules of each.
    return JSONResponse(
        {},
        headers={
            "X-Frame-Options": "SAMEORIGIN",
            "Strict-Transport-Security": "max-age=60",
            "X-Request-ID": "from-the-app",
            "Access-Control-Allow-Origin": "https://other.example",
            "Vary": "Accept-Encoding",
        },
    )


@dataclass
class Call:
    method: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    content: bytes | None = None
    chunks: list[bytes] | None = None
    client: tuple[str, int] = ("127.0.0.1", 50000)
    base_url: str = "http://testserver"


PREFLIGHT = {"Origin": ALLOWED, "Access-Control-Request-Method": "POST"}
FORWARDED = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9, 10.0.0.5", "Origin": ALLOWED}

CALLS = {
    "plain": Call("GET", "/whoami"),
    "allowed-origin": Call("GET", "/whoami", {"Origin": ALLOWED}),
    "other-origin": Call("GET", "/whoami", {"Origin": "https://evil.example"}),
    "valid-request-id": Call("GET", "/whoami", {"X-Request-ID": "edge-7f3a:42"}),
    "invalid-request-id": Call("GET", "/whoami", {"X-Request-ID": "has space"}),
    "two-request-ids": Call("GET", "/whoami", {"X-Request-ID": "first"}),
    "query-string": Call("GET", "/items/3?token=secret", {"Origin": ALLOWED}),
    "bound-context": Call("GET", "/bound"),
    "preflight-allowed": Call("OPTIONS", "/echo-size", PREFLIGHT | {"Access-Control-Request-Headers": "x-request-id"}),
    "preflight-other-origin": Call("OPTIONS", "/echo-size", PREFLIGHT | {"Origin": "https://evil.example"}),
    "preflight-bad-method": Call("OPTIONS", "/echo-size", PREFLIGHT | {"Access-Control-Request-Method": "TRACE"}),
    "preflight-bad-header": Call("OPTIONS", "/echo-size", PREFLIGHT | {"Access-Control-Request-Headers": "x-evil"}),
    "options-without-preflight": Call("OPTIONS", "/echo-size", {"Origin": ALLOWED}),
    "404-with-cors": Call("GET", "/nowhere", {"Origin": ALLOWED}),
    "405-with-cors": Call("DELETE", "/whoami", {"Origin": ALLOWED}),
    "422-with-cors": Call("GET", "/items/not-a-number", {"Origin": ALLOWED}),
    "500-with-cors": Call("GET", "/boom", {"Origin": ALLOWED, "X-Request-ID": "boom-1"}),
    "500-generated-id": Call("GET", "/boom"),
    "body-at-limit": Call("POST", "/echo-size", content=b"x" * 1024),
    "content-length-over-limit": Call("POST", "/echo-size", {"Origin": ALLOWED}, content=b"x" * 2048),
    "chunked-over-limit": Call("POST", "/echo-size", {"Origin": ALLOWED}, chunks=[b"y" * 512] * 4),
    "unread-body-over-limit": Call("POST", "/ignores-body", {"X-Request-ID": "ign-1"}, content=b"i" * 4096),
    "apps-own-413": Call("POST", "/own-413", content=b"small"),
    "trusted-proxy": Call("GET", "/whoami", FORWARDED, client=("10.0.0.5", 4000)),
    "untrusted-peer": Call("GET", "/whoami", FORWARDED, client=("198.51.100.7", 4000)),
    "https": Call("GET", "/whoami", {"Origin": ALLOWED}, base_url="https://api.example.com"),
    "apps-own-headers-https": Call("GET", "/own-headers", {"Origin": ALLOWED}, base_url="https://api.example.com"),
    "apps-own-headers-other-origin": Call("GET", "/own-headers", {"Origin": "https://evil.example"}),
    "probe": Call("GET", "/health/live"),
    "probe-head": Call("HEAD", "/health/live"),
}


@dataclass
class Outcome:
    status: int
    headers: list[tuple[str, str]]
    body: str
    access_lines: list[str]


@asynccontextmanager
async def served(stack: str, settings: Any) -> AsyncIterator[FastAPI]:
    """The templates' app, with the current middleware or with the legacy stack in its place."""
    app = tpl("main").create_app(settings, routers=[router])
    if stack == "legacy":
        # Starlette builds the middleware stack on the first request: swapping the list before that is enough.
        app.user_middleware.clear()
        legacy_middleware.install_middleware(app, settings)
    async with app.router.lifespan_context(app):
        yield app


async def call(app: FastAPI, spec: Call, logs: io.StringIO) -> Outcome:
    # Its own task, as under a server: context bound during the request must not leak into the next one.
    return await asyncio.create_task(_call(app, spec, logs))


async def _call(app: FastAPI, spec: Call, logs: io.StringIO) -> Outcome:
    tpl("logging_config").configure_logging(level="DEBUG", json_logs=True, stream=logs)
    logs.seek(0)
    logs.truncate()
    transport = httpx.ASGITransport(app, raise_app_exceptions=False, client=spec.client)
    async with httpx.AsyncClient(transport=transport, base_url=spec.base_url) as client:
        headers = list(spec.headers.items())
        if spec.path == "/whoami" and spec.headers.get("X-Request-ID") == "first":
            headers.append(("X-Request-ID", "second"))  # only the first value counts

        async def stream() -> AsyncIterator[bytes]:
            for chunk in spec.chunks or []:
                yield chunk

        content: Any = stream() if spec.chunks is not None else spec.content
        response = await client.request(spec.method, spec.path, headers=headers, content=content)
    access = [line for line in logs.getvalue().splitlines() if '"logger": "app.access"' in line]
    raw_headers = [(name.decode("latin-1"), value.decode("latin-1")) for name, value in response.headers.raw]
    return Outcome(response.status_code, raw_headers, response.text, access)


GENERATED_ID = re.compile(r"\b[0-9a-f]{32}\b")
TIMESTAMP = re.compile(r'"timestamp": "\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?Z"')
DURATION = re.compile(r'"duration_ms": \d+(\.\d+)?')


def normalized(outcome: Outcome) -> Outcome:
    """Placeholders for what is random or timed; everything else must match exactly."""

    def scrub(text: str) -> str:
        return GENERATED_ID.sub("<generated-id>", text)

    lines = []
    for line in outcome.access_lines:
        assert TIMESTAMP.search(line), line
        assert DURATION.search(line), line
        line = DURATION.sub('"duration_ms": 0', TIMESTAMP.sub('"timestamp": "<t>"', line))
        record = json.loads(line)
        if "exception" in record:
            # Tracebacks name each stack's own file and lines; the exception itself must match.
            record["exception"] = [(e["exc_type"], e["exc_value"]) for e in record["exception"]]
            line = json.dumps(record)
        lines.append(scrub(line))
    headers = [(name, scrub(value)) for name, value in outcome.headers]
    return Outcome(outcome.status, headers, scrub(outcome.body), lines)


SETTINGS: dict[str, dict[str, Any]] = {
    "full": {"cors_origins": ALLOWED, "trusted_proxies": "10.0.0.5", "max_body_size": 1024},
    "minimal": {"max_body_size": 1024},
}


@pytest.mark.anyio
@pytest.mark.parametrize("configuration", sorted(SETTINGS))
async def test_every_scenario_answers_and_logs_as_the_legacy_stack_did(configuration: str) -> None:
    outcomes: dict[str, dict[str, Outcome]] = {}
    for stack in ("legacy", "current"):
        logs = io.StringIO()
        settings = make_settings(**SETTINGS[configuration])
        async with served(stack, settings) as app:
            outcomes[stack] = {name: normalized(await call(app, spec, logs)) for name, spec in CALLS.items()}
    for name in CALLS:
        legacy, current = outcomes["legacy"][name], outcomes["current"][name]
        assert current.status == legacy.status, name
        assert current.headers == legacy.headers, name
        assert current.body == legacy.body, name
        assert current.access_lines == legacy.access_lines, name


@pytest.mark.anyio
async def test_the_scenarios_cover_what_they_claim() -> None:
    # Guards the comparison above against comparing two identical non-answers.
    logs = io.StringIO()
    async with served("current", make_settings(**SETTINGS["full"])) as app:
        seen = {name: await call(app, spec, logs) for name, spec in CALLS.items()}
    assert seen["preflight-allowed"].status == 200
    assert seen["preflight-allowed"].access_lines == []  # answered before the access log, as before
    assert seen["preflight-other-origin"].body == "Disallowed CORS origin"
    assert seen["preflight-bad-method"].body == "Disallowed CORS method"
    assert seen["content-length-over-limit"].status == 413
    assert seen["chunked-over-limit"].status == 413
    assert json.loads(seen["unread-body-over-limit"].body)["request_id"] == "ign-1"
    assert seen["apps-own-413"].body == "quota exceeded"
    assert ("connection", "close") in seen["500-with-cors"].headers
    assert '"level": "error"' in seen["500-with-cors"].access_lines[0]
    assert json.loads(seen["trusted-proxy"].body)["client"] == "203.0.113.9"
    assert json.loads(seen["untrusted-peer"].body)["client"] == "198.51.100.7"
    assert ("strict-transport-security", "max-age=63072000; includeSubDomains") in seen["https"].headers
    assert ("x-frame-options", "SAMEORIGIN") in seen["apps-own-headers-https"].headers
    assert '"level": "debug"' in seen["probe"].access_lines[0]
    assert '"user_id": "u-42"' in seen["bound-context"].access_lines[0]
    assert '"path": "/items/3"' in seen["query-string"].access_lines[0]
    generated = dict(seen["invalid-request-id"].headers)["x-request-id"]
    assert GENERATED_ID.fullmatch(generated)
    assert generated[12] == "4"
    assert generated[16] in "89ab"
