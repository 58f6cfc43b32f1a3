"""error_handlers.py: RFC 9457 problem+json for every error path, through a real app built by create_app."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import APIRouter, HTTPException
from pydantic import BaseModel
from tpl_support import isolated_logging, running_app, tpl  # noqa: F401 - isolated_logging is an autouse fixture

error_handlers = tpl("error_handlers")
PROBLEM = "application/problem+json"


class OrderNotFoundError(error_handlers.AppError):  # type: ignore[misc]
    status_code = 404
    title = "Order not found"
    type = "https://errors.example.com/order-not-found"


class Login(BaseModel):
    username: str
    password: int  # deliberately a type the test's secret string cannot satisfy


router = APIRouter()


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
