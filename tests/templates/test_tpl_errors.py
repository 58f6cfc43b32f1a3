"""error_handlers.py: RFC 9457 problem+json for every error path, through a real app built by create_app."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from fastapi import APIRouter, FastAPI, HTTPException
from helpers import free_port
from pydantic import BaseModel
from sqlalchemy import exc as sa_exc
from sqlalchemy import text
from tpl_support import isolated_logging, make_settings, running_app, tpl  # noqa: F401 - isolated_logging is an autouse fixture

error_handlers = tpl("error_handlers")
SessionDep = tpl("database").SessionDep
PROBLEM = "application/problem+json"


class OrderNotFoundError(error_handlers.AppError):  # type: ignore[misc]
    status_code = 404
    title = "Order not found"
    type = "https://errors.example.com/order-not-found"


class Login(BaseModel):
    username: str
    password: int  # deliberately a type the test's secret string cannot satisfy


router = APIRouter()
database_router = APIRouter()


@database_router.get("/count")
async def count(session: SessionDep) -> dict[str, int]:
    return {"count": int((await session.execute(text("SELECT 1"))).scalar_one())}


@router.get("/orders/{order_id}")
async def get_order(order_id: int) -> dict[str, int]:
    raise OrderNotFoundError(f"Order {order_id} does not exist.", extensions={"order_id": order_id})


@router.get("/conflict")
async def conflict() -> None:
    raise error_handlers.AppError("Already exists.", status_code=409)


@router.get("/teapot")
async def teapot() -> None:
    raise HTTPException(status_code=418, detail={"reason": "short and stout"}, headers={"X-Kind": "teapot"})


@router.get("/boom")
async def boom() -> None:
    raise RuntimeError("connection to postgres://admin:hunter2@db.internal failed")


@router.post("/login")
async def login(body: Login) -> dict[str, str]:
    return {"user": body.username}


def assert_problem(response: Any, status: int, path: str) -> dict[str, Any]:
    assert response.status_code == status
    assert response.headers["content-type"] == PROBLEM
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["instance"] == path
    assert body["request_id"] == response.headers["x-request-id"]
    assert {"type", "title", "detail"} <= body.keys()
    return body


@pytest.mark.anyio
async def test_router_404_is_a_problem_without_the_query_string() -> None:
    async with running_app(routers=[router]) as (_, client):
        response = await client.get("/missing?token=s3cr3t")
    body = assert_problem(response, 404, "/missing")
    assert body["type"] == "about:blank"
    assert body["title"] == "Not Found"
    assert "s3cr3t" not in response.text


@pytest.mark.anyio
async def test_router_405_is_a_problem_and_keeps_allow() -> None:
    async with running_app(routers=[router]) as (_, client):
        response = await client.delete("/conflict")
    assert_problem(response, 405, "/conflict")
    assert response.headers["allow"] == "GET"


@pytest.mark.anyio
async def test_validation_error_lists_errors_but_never_the_input() -> None:
    async with running_app(routers=[router]) as (_, client):
        response = await client.post("/login", json={"username": "ada", "password": "correct horse battery"})
    body = assert_problem(response, 422, "/login")
    assert body["title"] == "Unprocessable Content"
    assert body["errors"] == [{"loc": ["body", "password"], "msg": body["errors"][0]["msg"], "type": "int_parsing"}]
    assert "correct horse battery" not in response.text


@pytest.mark.anyio
async def test_app_error_subclass_carries_its_type_title_and_extensions() -> None:
    async with running_app(routers=[router]) as (_, client):
        response = await client.get("/orders/42")
    body = assert_problem(response, 404, "/orders/42")
    assert body["type"] == "https://errors.example.com/order-not-found"
    assert body["title"] == "Order not found"
    assert body["detail"] == "Order 42 does not exist."
    assert body["order_id"] == 42


@pytest.mark.anyio
async def test_app_error_with_explicit_status_uses_the_status_phrase() -> None:
    async with running_app(routers=[router]) as (_, client):
        response = await client.get("/conflict")
    body = assert_problem(response, 409, "/conflict")
    assert body["title"] == "Conflict"


def test_app_error_refuses_a_non_error_status() -> None:
    with pytest.raises(ValueError, match="400-599"):
        error_handlers.AppError("fine", status_code=200)


@pytest.mark.anyio
async def test_http_exception_with_structured_detail_and_headers() -> None:
    async with running_app(routers=[router]) as (_, client):
        response = await client.get("/teapot")
    body = assert_problem(response, 418, "/teapot")
    assert body["errors"] == {"reason": "short and stout"}
    assert response.headers["x-kind"] == "teapot"


@pytest.mark.anyio
async def test_unhandled_error_is_generic_with_request_id_and_no_internals() -> None:
    async with running_app(routers=[router]) as (_, client):
        response = await client.get("/boom", headers={"X-Request-ID": "trace-500"})
    body = assert_problem(response, 500, "/boom")
    assert body["request_id"] == "trace-500"
    assert body["detail"] == "An unexpected error occurred."
    # Sent from outside the middleware stack, it still carries the header that stops content sniffing.
    assert response.headers["x-content-type-options"] == "nosniff"
    for leak in ("hunter2", "postgres", "RuntimeError", "Traceback", "File "):
        assert leak not in response.text


@router.get("/dependency-timeout")
async def dependency_timeout() -> None:
    # What asyncio.timeout() around a dependency call, or asyncpg's connect timeout, raises.
    raise TimeoutError


@pytest.mark.anyio
async def test_unhandled_error_tells_the_client_the_connection_closes() -> None:
    async with running_app(routers=[router]) as (_, client):
        response = await client.get("/boom")
    assert_problem(response, 500, "/boom")
    assert response.headers["connection"] == "close"


@pytest.mark.anyio
async def test_an_unreachable_database_is_a_503_with_retry_after() -> None:
    # Nothing listens on the port: asyncpg's connect raises ConnectionRefusedError, unwrapped by SQLAlchemy.
    unreachable = make_settings(database_url=f"postgresql+asyncpg://app:s3cret@127.0.0.1:{free_port()}/orders")
    logs = io.StringIO()
    async with running_app(unreachable, routers=[database_router], logs=logs) as (_, client):
        response = await client.get("/count", headers={"X-Request-ID": "db-down-1"})
    body = assert_problem(response, 503, "/count")
    assert response.headers["retry-after"] == str(error_handlers.UNAVAILABLE_RETRY_AFTER)
    assert "connection" not in response.headers  # handled: the keep-alive connection stays usable
    for leak in ("s3cret", "127.0.0.1", "orders", "Refused", "Errno"):
        assert leak not in response.text
    assert body["request_id"] == "db-down-1"
    records = [json.loads(line) for line in logs.getvalue().splitlines()]
    (cause,) = [r for r in records if r["event"] == "dependency_unavailable"]
    assert cause["error_type"] == "ConnectionRefusedError"
    assert cause["request_id"] == "db-down-1"
    assert cause["exception"][0]["exc_type"] == "ConnectionRefusedError"
    (access,) = [r for r in records if r["event"] == "request"]
    assert access["status"] == 503


@pytest.mark.anyio
@pytest.mark.parametrize(
    "error",
    [
        sa_exc.OperationalError("SELECT 1", {}, ConnectionResetError("server closed the connection")),
        sa_exc.InterfaceError("SELECT 1", {}, ConnectionError("connection is closed")),
        sa_exc.TimeoutError("QueuePool limit of size 5 overflow 10 reached"),
    ],
    ids=["operational", "interface", "pool-timeout"],
)
async def test_sqlalchemy_unavailability_errors_are_503s(error: Exception) -> None:
    raising = APIRouter()

    @raising.get("/orders")
    async def orders() -> None:
        raise error

    async with running_app(routers=[raising]) as (_, client):
        response = await client.get("/orders")
    assert_problem(response, 503, "/orders")
    assert response.headers["retry-after"] == str(error_handlers.UNAVAILABLE_RETRY_AFTER)


@pytest.mark.anyio
async def test_a_query_bug_stays_a_500() -> None:
    raising = APIRouter()

    @raising.get("/orders")
    async def orders() -> None:
        raise sa_exc.IntegrityError("INSERT ...", {}, ValueError("duplicate key"))

    async with running_app(routers=[raising]) as (_, client):
        response = await client.get("/orders")
    assert_problem(response, 500, "/orders")


@pytest.mark.anyio
async def test_a_dependency_timeout_is_a_503() -> None:
    async with running_app(routers=[router]) as (_, client):
        response = await client.get("/dependency-timeout")
    assert_problem(response, 503, "/dependency-timeout")
    assert response.headers["retry-after"] == str(error_handlers.UNAVAILABLE_RETRY_AFTER)


def test_unavailable_takes_exception_classes_only() -> None:
    with pytest.raises(TypeError, match="exception classes"):
        error_handlers.install_error_handlers(FastAPI(), unavailable=[OSError("not a class")])


@pytest.mark.anyio
async def test_a_vague_connection_error_stays_a_500() -> None:
    raising = APIRouter()

    @raising.get("/report")
    async def report() -> None:
        raise ConnectionError("could not connect to warehouse")

    async with running_app(routers=[raising]) as (_, client):
        response = await client.get("/report")
    assert_problem(response, 500, "/report")
    assert "warehouse" not in response.text
