"""Pins for the corrections in FACTS.md: each runs the real library, so a library change that makes our guidance
wrong fails here first. Numbers in the test names refer to the rows of FACTS.md's table."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import importlib
import warnings
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Annotated, Any

import httpx
import pytest
import structlog
from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic_settings import BaseSettings, NoDecode, SettingsError
from sqlalchemy import text
from sqlalchemy.exc import ObjectNotExecutableError
from sqlalchemy.ext.asyncio import create_async_engine
from starlette.applications import Starlette
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware


def client_for(app: ASGIApp, peer: str = "127.0.0.1") -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app, raise_app_exceptions=False, client=(peer, 1234))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


@pytest.mark.anyio
async def test_01_last_added_middleware_is_outermost() -> None:
    calls: list[str] = []

    def tagging(name: str) -> type:
        class Tag:
            def __init__(self, app: ASGIApp) -> None:
                self.app = app

            async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
                if scope["type"] == "http":
                    calls.append(name)
                await self.app(scope, receive, send)

        return Tag

    app = FastAPI()

    @app.get("/")
    async def root() -> dict[str, str]:
        return {}

    app.add_middleware(tagging("first-added"))
    app.add_middleware(tagging("last-added"))
    async with client_for(app) as client:
        await client.get("/")
    assert calls == ["last-added", "first-added"]


def slowapi_app(handler_reads_retry_after: bool) -> FastAPI:
    from slowapi import Limiter
    from slowapi.errors import RateLimitExceeded
    from slowapi.util import get_remote_address

    limiter = Limiter(key_func=get_remote_address, headers_enabled=True)
    app = FastAPI()
    app.state.limiter = limiter

    async def on_limit(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RateLimitExceeded)
        headers = {"Retry-After": str(exc.retry_after)} if handler_reads_retry_after else {}  # type: ignore[attr-defined]
        response = JSONResponse({"detail": "slow down"}, status_code=429, headers=headers)
        # slowapi computes Retry-After itself when headers_enabled=True and it is given the response.
        return limiter._inject_headers(response, request.state.view_rate_limit)  # type: ignore[no-any-return]

    app.add_exception_handler(RateLimitExceeded, on_limit)

    @app.get("/limited")
    @limiter.limit("1/minute")
    async def limited(request: Request) -> dict[str, str]:
        return {}

    return app


@pytest.mark.anyio
async def test_02_slowapi_exception_has_no_retry_after_so_the_seed_handler_turns_429_into_500() -> None:
    from slowapi.errors import RateLimitExceeded

    assert not hasattr(RateLimitExceeded, "retry_after")
    async with client_for(slowapi_app(handler_reads_retry_after=True)) as client:
        await client.get("/limited")
        response = await client.get("/limited")
    assert response.status_code == 500

    async with client_for(slowapi_app(handler_reads_retry_after=False)) as client:
        await client.get("/limited")
        response = await client.get("/limited")
    assert response.status_code == 429
    assert int(response.headers["retry-after"]) > 0


@pytest.mark.anyio
async def test_03_cors_wildcard_with_credentials_reflects_any_origin() -> None:
    app = Starlette()
    wrapped = CORSMiddleware(app, allow_origins=["*"], allow_credentials=True)
    async with client_for(wrapped) as client:
        response = await client.options(
            "/", headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"}
        )
    assert response.headers["access-control-allow-origin"] == "https://evil.example"
    assert response.headers["access-control-allow-credentials"] == "true"


async def echo_client(scope: Scope, receive: Receive, send: Send) -> None:
    response = JSONResponse({"client": scope["client"][0], "scheme": scope["scheme"]})
    await response(scope, receive, send)


@pytest.mark.anyio
async def test_04_proxy_headers_trusting_everyone_lets_any_client_pick_its_address() -> None:
    spoof = {"X-Forwarded-For": "1.2.3.4", "X-Forwarded-Proto": "https"}
    async with client_for(ProxyHeadersMiddleware(echo_client, trusted_hosts="*"), peer="198.51.100.7") as client:
        everyone = (await client.get("/", headers=spoof)).json()
    async with client_for(ProxyHeadersMiddleware(echo_client, trusted_hosts="10.0.0.5"), peer="198.51.100.7") as c:
        only_proxy = (await c.get("/", headers=spoof)).json()
    assert everyone == {"client": "1.2.3.4", "scheme": "https"}
    assert only_proxy == {"client": "198.51.100.7", "scheme": "http"}


@pytest.mark.anyio
async def test_05_nothing_limits_bodies_by_default_but_fastapi_and_starlette_can() -> None:
    app = FastAPI()

    @app.post("/upload")
    async def upload(request: Request) -> dict[str, int]:
        return {"size": len(await request.body())}

    @app.post("/small", max_body_size=10)
    async def small(request: Request) -> dict[str, int]:
        return {"size": len(await request.body())}

    async with client_for(app) as client:
        big = await client.post("/upload", content=b"x" * 5_000_000)
        limited = await client.post("/small", content=b"x" * 11)
    assert big.json() == {"size": 5_000_000}
    assert limited.status_code == 413
    from starlette.middleware import body_limit

    assert body_limit.RequestBodyLimitMiddleware.__init__.__code__.co_varnames[:3] == ("self", "app", "max_body_size")


def test_06_uvicorn_workers_is_deprecated_and_uvicorn_worker_is_the_replacement() -> None:
    import sys

    sys.modules.pop("uvicorn.workers", None)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        importlib.import_module("uvicorn.workers")
    assert any(issubclass(w.category, DeprecationWarning) and "uvicorn-worker" in str(w.message) for w in caught)
    from uvicorn_worker import UvicornWorker

    assert UvicornWorker.__module__.startswith("uvicorn_worker")


class StrictTransfer(BaseModel):
    model_config = ConfigDict(strict=True)
    amount: Decimal


class Transfer(BaseModel):
    amount: Decimal
    account_id: int = Field(strict=True)


@pytest.mark.anyio
async def test_07_strict_decimal_model_rejects_every_json_number() -> None:
    app = FastAPI()

    @app.post("/strict")
    async def strict(body: StrictTransfer) -> dict[str, str]:
        return {"amount": str(body.amount)}

    @app.post("/per-field")
    async def per_field(body: Transfer) -> dict[str, str]:
        return {"amount": str(body.amount)}

    async with client_for(app) as client:
        as_number = await client.post("/strict", json={"amount": 10.5})
        as_string = await client.post("/strict", json={"amount": "10.5"})
        lenient = await client.post("/per-field", json={"amount": "10.50", "account_id": 7})
        strict_int = await client.post("/per-field", json={"amount": "1", "account_id": "7"})
    assert (as_number.status_code, as_string.status_code) == (422, 422)
    assert lenient.json() == {"amount": "10.50"}
    assert strict_int.status_code == 422


def test_11_clear_contextvars_wipes_outer_bindings_bound_contextvars_restores_them() -> None:
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(job="nightly")
    with structlog.contextvars.bound_contextvars(request_id="r1"):
        assert structlog.contextvars.get_contextvars() == {"job": "nightly", "request_id": "r1"}
    assert structlog.contextvars.get_contextvars() == {"job": "nightly"}
    structlog.contextvars.clear_contextvars()
    assert structlog.contextvars.get_contextvars() == {}


@pytest.mark.anyio
@pytest.mark.postgres
async def test_12_dispose_does_not_wait_for_or_close_checked_out_connections(database_url: str) -> None:
    engine = create_async_engine(database_url)
    async with engine.connect() as connection:
        await engine.dispose()
        # Still usable: dispose() returned at once and left it open, detached from the pool.
        assert (await connection.execute(text("SELECT 1"))).scalar_one() == 1
        # Its pool is gone; checking it in would leave the socket to the garbage collector. Close it here.
        await connection.invalidate()
    await engine.dispose()


def test_13_redis_asyncio_has_aclose_and_a_five_second_default_timeout() -> None:
    from redis.asyncio import Redis

    client = Redis()
    assert callable(client.aclose)
    assert client.connection_pool.connection_kwargs["socket_timeout"] == 5
    with pytest.raises(ImportError):
        importlib.import_module("aioredis")


def test_15_uvicorn_waits_forever_for_in_flight_requests_unless_told() -> None:
    import uvicorn

    assert uvicorn.Config("app:app").timeout_graceful_shutdown is None


def test_19_pydantic_settings_parses_lists_as_json_unless_nodecode(monkeypatch: pytest.MonkeyPatch) -> None:
    class Naive(BaseSettings):
        cors_origins: list[str] = []

    class Fixed(BaseSettings):
        cors_origins: Annotated[list[str], NoDecode] = []

    monkeypatch.setenv("CORS_ORIGINS", "https://a.example,https://b.example")
    with pytest.raises(SettingsError, match="cors_origins"):
        Naive()
    # NoDecode hands over the raw string unparsed: without a validator that splits it (templates/settings.py has
    # one) it is still not a list.
    with pytest.raises(ValidationError, match="list_type"):
        Fixed()


@pytest.mark.anyio
async def test_20_sqlalchemy_refuses_plain_string_sql() -> None:
    engine = create_async_engine("sqlite+aiosqlite:///:memory:")
    try:
        async with engine.connect() as connection:
            with pytest.raises(ObjectNotExecutableError):
                await connection.execute("SELECT 1")  # type: ignore[call-overload]
    finally:
        await engine.dispose()


def test_21_starlette_testclient_needs_httpx2() -> None:
    import inspect

    import starlette.testclient

    assert "import httpx2" in inspect.getsource(starlette.testclient)


def test_21b_slowapi_get_ipaddr_reads_an_underscore_header_a_client_controls() -> None:
    from slowapi.util import get_ipaddr, get_remote_address

    def request(headers: list[tuple[bytes, bytes]]) -> Request:
        return Request({"type": "http", "headers": headers, "client": ("198.51.100.7", 1234)})

    real_proxy_header = request([(b"x-forwarded-for", b"203.0.113.1")])
    odd_name = request([(b"x_forwarded_for", b"6.6.6.6")])
    assert get_ipaddr(real_proxy_header) == "198.51.100.7"  # the real header never matches
    assert get_ipaddr(odd_name) == "6.6.6.6"  # a client chose its own key
    assert get_remote_address(odd_name) == "198.51.100.7"


def test_21c_uvicorn_defaults_bind_loopback_trust_loopback_and_keep_alive_5s(monkeypatch: pytest.MonkeyPatch) -> None:
    import uvicorn

    monkeypatch.delenv("FORWARDED_ALLOW_IPS", raising=False)
    config = uvicorn.Config("app:app")
    assert config.host == "127.0.0.1"
    assert config.forwarded_allow_ips == "127.0.0.1,::1"
    assert config.timeout_keep_alive == 5


def greeting(request: Request) -> str:
    return str(request.state.greeting)


@pytest.mark.anyio
async def test_22_on_event_is_gone_from_starlette_deprecated_in_fastapi_lifespan_state_reaches_requests() -> None:
    assert not hasattr(Starlette, "on_event")
    with pytest.warns(DeprecationWarning, match="on_event is deprecated"):
        FastAPI().on_event("startup")

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[dict[str, Any]]:
        yield {"greeting": "hello"}

    app = FastAPI(lifespan=lifespan)

    @app.get("/")
    async def root(value: Annotated[str, Depends(greeting)]) -> dict[str, str]:
        return {"value": value}

    # A real server passes lifespan state into each request's scope; emulate the server's part of ASGI here.
    state: dict[str, Any] = {}
    async with lifespan(app) as yielded:
        state.update(yielded)

    async def with_state(scope: Scope, receive: Receive, send: Send) -> None:
        await app({**scope, "state": dict(state)}, receive, send)

    async with client_for(with_state) as client:
        assert (await client.get("/")).json() == {"value": "hello"}


probe: contextvars.ContextVar[str] = contextvars.ContextVar("probe", default="unset")


async def set_probe_endpoint(request: Request) -> JSONResponse:
    probe.set("set by endpoint")
    return JSONResponse({})


@pytest.mark.anyio
async def test_10_base_http_middleware_runs_the_endpoint_in_another_task_pure_asgi_does_not() -> None:
    from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
    from starlette.responses import Response
    from starlette.routing import Route

    seen: dict[str, str] = {}

    class Base(BaseHTTPMiddleware):
        async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
            response = await call_next(request)
            seen["base"] = probe.get()
            return response

    class Pure:
        def __init__(self, app: ASGIApp) -> None:
            self.app = app

        async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
            await self.app(scope, receive, send)
            if scope["type"] == "http":
                seen["pure"] = probe.get()

    for name, middleware in (("base", Base), ("pure", Pure)):
        app = Starlette(routes=[Route("/", set_probe_endpoint)])
        app.add_middleware(middleware)
        context = contextvars.copy_context()

        async def call(app: Starlette = app) -> None:
            async with client_for(app) as client:
                await client.get("/")

        await context.run(asyncio.create_task, call())
        assert name in seen
    assert seen == {"base": "unset", "pure": "set by endpoint"}


@pytest.mark.anyio
async def test_httpx_read_timeout_is_per_read_so_a_trickling_response_outlives_it() -> None:
    handlers: set[asyncio.Task[Any]] = set()

    async def trickle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        handlers.add(task)
        try:
            await reader.readuntil(b"\r\n\r\n")
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\n")
            for _ in range(8):  # one byte every 0.15 s: 1.2 s in all, never 0.5 s without a byte
                await writer.drain()
                await asyncio.sleep(0.15)
                writer.write(b"x")
            await writer.drain()
        except ConnectionError:
            pass  # the client gave up (the second request below)
        finally:
            writer.close()

    server = await asyncio.start_server(trickle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        async with httpx.AsyncClient(timeout=httpx.Timeout(0.5)) as client:
            started = asyncio.get_running_loop().time()
            response = await client.get(f"http://127.0.0.1:{port}/")
            assert response.content == b"x" * 8
            assert asyncio.get_running_loop().time() - started > 1.0  # well past the 0.5 s "timeout"
            # Only an overall deadline bounds the whole exchange (lifespan.py's comment says so).
            with pytest.raises(TimeoutError):
                async with asyncio.timeout(0.5):
                    await client.get(f"http://127.0.0.1:{port}/")
    finally:
        for handler in handlers:
            handler.cancel()
        await asyncio.gather(*handlers, return_exceptions=True)
        server.close()
        await server.wait_closed()
