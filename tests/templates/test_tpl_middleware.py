"""middleware.py: request ID, security headers, body limit, proxy trust and the order install_middleware builds."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse
from starlette.middleware.cors import CORSMiddleware
from starlette.types import Message, Receive, Scope, Send
from tpl_support import isolated_logging, make_settings, running_app, tpl  # noqa: F401 - isolated_logging is an autouse fixture
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

middleware = tpl("middleware")

router = APIRouter()


@router.get("/whoami")
async def whoami(request: Request) -> dict[str, str | None]:
    return {
        "request_id": middleware.get_request_id(),
        "client": request.client.host if request.client else None,
        "scheme": request.url.scheme,
    }


@router.post("/echo-size")
async def echo_size(request: Request) -> dict[str, int]:
    return {"size": len(await request.body())}


@router.post("/tiny", max_body_size=10)
async def tiny(request: Request) -> dict[str, int]:
    return {"size": len(await request.body())}


@router.post("/upload", max_body_size=8192)
async def upload(request: Request) -> dict[str, int]:
    return {"size": len(await request.body())}


@router.post("/ignores-body")
async def ignores_body() -> dict[str, str]:
    return {"read": "nothing"}


@router.post("/own-413")
async def own_413() -> PlainTextResponse:
    return PlainTextResponse("quota exceeded", status_code=413)


@router.get("/framed")
async def framed() -> dict[str, str]:
    return {}


@pytest.mark.anyio
async def test_valid_inbound_request_id_is_honoured_everywhere() -> None:
    async with running_app(routers=[router]) as (_, client):
        response = await client.get("/whoami", headers={"X-Request-ID": "edge-7f3a:42"})
    assert response.headers.get_list("x-request-id") == ["edge-7f3a:42"]
    assert response.json()["request_id"] == "edge-7f3a:42"


@pytest.mark.anyio
@pytest.mark.parametrize(
    "inbound",
    ["has space", "x" * 129, 'quote"d', "<script>", "tab\tin", ""],
    ids=["space", "too-long", "quote", "markup", "tab", "empty"],
)
async def test_invalid_inbound_request_id_is_replaced(inbound: str) -> None:
    async with running_app(routers=[router]) as (_, client):
        response = await client.get("/whoami", headers={"X-Request-ID": inbound})
    generated = response.headers["x-request-id"]
    assert generated != inbound
    assert len(generated) == 32
    assert int(generated, 16) >= 0
    assert response.json()["request_id"] == generated


@pytest.mark.anyio
async def test_missing_request_id_is_generated_and_unique_per_request() -> None:
    async with running_app(routers=[router]) as (_, client):
        first = (await client.get("/whoami")).headers["x-request-id"]
        second = (await client.get("/whoami")).headers["x-request-id"]
    assert first != second


@pytest.mark.anyio
async def test_request_id_is_unset_outside_a_request() -> None:
    async with running_app(routers=[router]) as (_, client):
        await client.get("/whoami")
    assert middleware.get_request_id() is None


SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "content-security-policy": "frame-ancestors 'none'",
}


@pytest.mark.anyio
async def test_security_headers_on_success_and_error_without_hsts_over_http() -> None:
    async with running_app(routers=[router]) as (_, client):
        ok = await client.get("/framed")
        missing = await client.get("/nowhere")
    for response in (ok, missing):
        for name, value in SECURITY_HEADERS.items():
            assert response.headers[name] == value
        assert "strict-transport-security" not in response.headers


@pytest.mark.anyio
async def test_hsts_only_over_https() -> None:
    async with running_app(routers=[router], base_url="https://api.example.com") as (_, client):
        response = await client.get("/framed")
    assert response.headers["strict-transport-security"] == "max-age=63072000; includeSubDomains"


@pytest.mark.anyio
async def test_forwarded_proto_counts_only_from_a_trusted_proxy() -> None:
    trusting = make_settings(trusted_proxies="10.0.0.5")
    headers = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"}
    async with running_app(trusting, [router], client=("10.0.0.5", 4000)) as (_, client):
        via_proxy = await client.get("/whoami", headers=headers)
    async with running_app(trusting, [router], client=("198.51.100.7", 4000)) as (_, client):
        direct = await client.get("/whoami", headers=headers)
    assert via_proxy.json() | {"request_id": None} == {"request_id": None, "client": "203.0.113.9", "scheme": "https"}
    assert "strict-transport-security" in via_proxy.headers
    assert direct.json()["client"] == "198.51.100.7"
    assert direct.json()["scheme"] == "http"
    assert "strict-transport-security" not in direct.headers


@pytest.mark.anyio
async def test_a_header_the_app_set_is_not_overwritten() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": [(b"x-frame-options", b"SAMEORIGIN")]})
        await send({"type": "http.response.body", "body": b""})

    wrapped = middleware.ProductionMiddleware(app)
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b""}

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {"type": "http", "scheme": "http", "method": "GET", "path": "/", "headers": []}
    await wrapped(scope, receive, send)
    headers = dict(sent[0]["headers"])
    assert headers[b"x-frame-options"] == b"SAMEORIGIN"
    assert headers[b"x-content-type-options"] == b"nosniff"


@pytest.mark.anyio
async def test_body_over_limit_with_content_length_is_413_problem() -> None:
    async with running_app(make_settings(max_body_size=1024), [router]) as (_, client):
        response = await client.post("/echo-size", content=b"x" * 2048, headers={"X-Request-ID": "big-1"})
        at_limit = await client.post("/echo-size", content=b"x" * 1024)
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["title"] == "Content Too Large"
    assert body["request_id"] == "big-1"
    assert response.headers["x-request-id"] == "big-1"
    assert at_limit.json() == {"size": 1024}


@pytest.mark.anyio
async def test_streamed_body_over_limit_without_content_length_is_413_problem() -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(8):
            yield b"y" * 512

    async with running_app(make_settings(max_body_size=1024), [router]) as (_, client):
        response = await client.post("/echo-size", content=chunks())
    assert response.request.headers.get("content-length") is None
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["request_id"] == response.headers["x-request-id"]


@pytest.mark.anyio
async def test_a_lower_per_route_max_body_size_also_answers_problem_json() -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(3):
            yield b"z" * 8

    async with running_app(routers=[router]) as (_, client):
        declared = await client.post("/tiny", content=b"x" * 11, headers={"X-Request-ID": "tiny-1"})
        streamed = await client.post("/tiny", content=chunks())
        fits = await client.post("/tiny", content=b"x" * 10)
    for response in (declared, streamed):
        assert response.status_code == 413
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["title"] == "Content Too Large"
        assert response.headers["x-content-type-options"] == "nosniff"
    assert declared.json()["request_id"] == "tiny-1"
    assert fits.json() == {"size": 10}


@pytest.mark.anyio
async def test_a_route_can_raise_the_app_wide_limit_like_the_official_skill_says() -> None:
    async with running_app(make_settings(max_body_size=1024), [router]) as (_, client):
        within_route_limit = await client.post("/upload", content=b"u" * 4096)
        over_route_limit = await client.post("/upload", content=b"u" * 8193)
        elsewhere = await client.post("/echo-size", content=b"u" * 4096)
    assert within_route_limit.json() == {"size": 4096}
    assert over_route_limit.status_code == 413
    assert elsewhere.status_code == 413


@pytest.mark.anyio
async def test_oversized_body_on_an_endpoint_that_never_reads_it_is_still_413_problem() -> None:
    async with running_app(make_settings(max_body_size=16), [router]) as (_, client):
        response = await client.post("/ignores-body", content=b"i" * 64, headers={"X-Request-ID": "ign-1"})
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["request_id"] == "ign-1"
    assert "read" not in response.text


@pytest.mark.anyio
async def test_the_applications_own_413_is_left_alone() -> None:
    async with running_app(routers=[router]) as (_, client):
        response = await client.post("/own-413", content=b"small")
    assert response.status_code == 413
    assert response.text == "quota exceeded"


def test_body_limit_refuses_a_negative_or_non_integer_limit() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        raise AssertionError

    with pytest.raises(ValueError, match="non-negative"):
        middleware.BodyLimitMiddleware(app, max_body_size=-1)
    with pytest.raises(ValueError, match="non-negative"):
        middleware.BodyLimitMiddleware(app, max_body_size=True)


def test_install_middleware_order_outermost_first() -> None:
    app = tpl("main").create_app(make_settings(cors_origins="https://app.example.com", trusted_proxies="10.0.0.5"))
    # Starlette builds the stack from user_middleware in list order, index 0 outermost.
    order = [entry.cls for entry in app.user_middleware]
    # CORS, request ID, access log and security headers run inside ProductionMiddleware, in that order.
    assert order == [ProxyHeadersMiddleware, middleware.ProductionMiddleware, middleware.BodyLimitMiddleware]
    assert app.user_middleware[1].kwargs["cors_origins"] == ["https://app.example.com"]


def test_optional_middleware_is_left_out_when_not_configured() -> None:
    app = tpl("main").create_app(make_settings())
    classes = {entry.cls for entry in app.user_middleware}
    assert CORSMiddleware not in classes
    assert ProxyHeadersMiddleware not in classes
    assert app.user_middleware[0].kwargs["cors_origins"] == []


@pytest.mark.anyio
async def test_cors_allows_only_configured_origins() -> None:
    settings = make_settings(cors_origins="https://app.example.com")
    async with running_app(settings, [router]) as (_, client):
        allowed = await client.get("/framed", headers={"Origin": "https://app.example.com"})
        other = await client.get("/framed", headers={"Origin": "https://evil.example"})
    assert allowed.headers["access-control-allow-origin"] == "https://app.example.com"
    assert allowed.headers["access-control-allow-credentials"] == "true"
    assert "x-request-id" in allowed.headers["access-control-expose-headers"].lower()
    assert "access-control-allow-origin" not in other.headers


@pytest.mark.anyio
async def test_non_http_scopes_pass_through_untouched() -> None:
    seen: list[str] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope["type"])
        assert "state" not in scope

    async def receive() -> Message:
        return {"type": "lifespan.startup"}

    async def send(message: Message) -> None:
        raise AssertionError(message)

    cors = middleware.ProductionMiddleware(app, cors_origins=["https://app.example.com"])
    await cors({"type": "lifespan"}, receive, send)
    await middleware.ProductionMiddleware(app)({"type": "lifespan"}, receive, send)
    await middleware.BodyLimitMiddleware(app, max_body_size=1)({"type": "lifespan"}, receive, send)
    assert seen == ["lifespan"] * 3


@pytest.mark.anyio
@pytest.mark.parametrize(("http_version", "limited"), [("1.1", False), ("2", True)])
async def test_only_http1_requests_without_length_or_encoding_skip_counting(http_version: str, limited: bool) -> None:
    # HTTP/1.x frames a body only with Content-Length or Transfer-Encoding; HTTP/2 needs neither, so it is counted.
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": str(len(body)).encode()})

    chunks = [{"type": "http.request", "body": b"x" * 8, "more_body": True}] * 3
    chunks.append({"type": "http.request", "body": b"", "more_body": False})

    async def receive() -> Message:
        return chunks.pop(0)

    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {"type": "http", "http_version": http_version, "method": "GET", "path": "/", "headers": [], "state": {}}
    await middleware.BodyLimitMiddleware(app, max_body_size=16)(scope, receive, send)
    assert sent[0]["status"] == (413 if limited else 200)
