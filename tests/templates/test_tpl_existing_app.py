"""validation_errors.py and body_limit.py: each copied alone into an existing app that keeps FastAPI's
``{"detail": ...}`` errors and its own middleware (CORS, a BaseHTTPMiddleware), driven through real requests."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from helpers import TEMPLATES, free_port
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import Response
from tpl_support import isolated_logging, running_app  # noqa: F401 - isolated_logging is an autouse fixture

ORIGIN = "https://app.example.com"
SECRET = "hunter2-Secret"
LIMIT = 64


def copied_alone(name: str, tmp_path: Path) -> ModuleType:
    """The template copied on its own into a folder, imported as a plain module: no sibling can help it."""
    target = tmp_path / f"{name}.py"
    shutil.copy2(TEMPLATES / f"{name}.py", target)
    module_name = f"alone_{name}_{tmp_path.name}"
    spec = importlib.util.spec_from_file_location(module_name, target)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return module


class Login(BaseModel):
    username: str = Field(min_length=3)
    password: str = Field(min_length=20)


class Timing(BaseHTTPMiddleware):
    # The kind of middleware existing apps have: it must keep working and keep wrapping every answer.
    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        response = await call_next(request)
        response.headers["X-Timing"] = "1"
        return response


def existing_app(**fastapi_options: Any) -> FastAPI:
    app = FastAPI(**fastapi_options)

    @app.post("/login")
    async def login(credentials: Login) -> dict[str, str]:
        return {"user": credentials.username}

    @app.post("/upload")
    async def upload(request: Request) -> dict[str, int]:
        return {"size": len(await request.body())}

    @app.post("/small", max_body_size=8)
    async def small(request: Request) -> dict[str, int]:
        return {"size": len(await request.body())}

    @app.post("/ping")
    async def ping() -> dict[str, bool]:
        return {"ok": True}

    app.add_middleware(Timing)
    app.add_middleware(CORSMiddleware, allow_origins=[ORIGIN])
    return app


def client(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app, raise_app_exceptions=False), base_url="http://t")


async def chunks(total: int) -> AsyncIterator[bytes]:
    # No Content-Length: the limit can only be enforced by counting what arrives.
    for _ in range(total // 16):
        yield b"x" * 16


# ---------------------------------------------------------------------------------------------------------------
# 422: the shape clients parse stays, the echo goes


@pytest.mark.anyio
async def test_fastapi_default_422_echoes_the_secret_and_the_whole_object(tmp_path: Path) -> None:
    # What every app that keeps the default sends back today: the reason for the template.
    async with client(existing_app()) as http:
        short = await http.post("/login", json={"username": "ada", "password": SECRET})
        missing = await http.post("/login", json={"password": SECRET * 2})
    assert SECRET in short.text
    assert SECRET in missing.text  # a missing field echoes every other field as the input


@pytest.mark.anyio
async def test_safe_validation_errors_keep_the_shape_and_drop_input_ctx_and_url(tmp_path: Path) -> None:
    module = copied_alone("validation_errors", tmp_path)
    app = existing_app()
    module.install_safe_validation_errors(app)
    async with client(app) as http:
        short = await http.post("/login", json={"username": "ada", "password": SECRET}, headers={"Origin": ORIGIN})
        missing = await http.post("/login", json={"password": SECRET * 2})
        broken = await http.post("/login", content=b'{"password": "' + SECRET.encode(), headers=JSON)
        valid = await http.post("/login", json={"username": "ada", "password": SECRET * 2})
    for response in (short, missing, broken):
        assert response.status_code == 422
        assert response.headers["content-type"] == "application/json"
        assert SECRET not in response.text
        for error in response.json()["detail"]:
            assert set(error) == {"loc", "msg", "type"}
    assert short.json() == {
        "detail": [
            {
                "loc": ["body", "password"],
                "msg": "String should have at least 20 characters",
                "type": "string_too_short",
            }
        ]
    }
    assert missing.json()["detail"] == [{"loc": ["body", "username"], "msg": "Field required", "type": "missing"}]
    assert broken.json()["detail"][0]["type"] == "json_invalid"
    # The app's own middleware still wraps the 422.
    assert (short.headers["access-control-allow-origin"], short.headers["x-timing"]) == (ORIGIN, "1")
    assert valid.json() == {"user": "ada"}


JSON = {"content-type": "application/json"}


@pytest.mark.anyio
async def test_house_problem_handler_never_echoes_input_either() -> None:
    from fastapi import APIRouter

    router = APIRouter()

    @router.post("/login")
    async def login(credentials: Login) -> dict[str, str]:
        return {"user": credentials.username}

    async with running_app(routers=[router]) as (_, http):
        missing = await http.post("/login", json={"password": SECRET * 2})
        broken = await http.post("/login", content=b'{"password": "' + SECRET.encode(), headers=JSON)
    for response in (missing, broken):
        assert response.status_code == 422
        assert response.headers["content-type"] == "application/problem+json"
        assert SECRET not in response.text
        assert {key for error in response.json()["errors"] for key in error} == {"loc", "msg", "type"}


# ---------------------------------------------------------------------------------------------------------------
# 413: what an agent meets with FastAPI's own limit, and the template's path that works on the first try


@pytest.mark.anyio
async def test_fastapi_app_limit_answers_a_declared_oversize_body_in_plain_text_outside_user_middleware() -> None:
    async with client(existing_app(max_body_size=LIMIT)) as http:
        declared = await http.post("/upload", content=b"x" * (LIMIT * 2), headers={"Origin": ORIGIN})
        chunked = await http.post("/upload", content=chunks(LIMIT * 2), headers={"Origin": ORIGIN})
    # The declared case: Starlette's text replaces the app's answer, and no user middleware saw it, so no CORS
    # header: a browser reports a network error.
    assert (declared.status_code, declared.headers["content-type"]) == (413, "text/plain; charset=utf-8")
    assert "access-control-allow-origin" not in declared.headers
    assert "x-timing" not in declared.headers
    # The chunked case goes through the app's handler: two shapes for one error.
    assert chunked.status_code == 413
    assert chunked.json() == {"detail": "Content Too Large"}


@pytest.mark.anyio
async def test_body_limit_answers_in_the_apps_format_inside_its_middleware(tmp_path: Path) -> None:
    module = copied_alone("body_limit", tmp_path)
    app = existing_app()
    # Called after the app's own add_middleware calls, as an agent adding it to an existing app would.
    module.install_body_limit(app, max_body_size=LIMIT)
    headers = {"Origin": ORIGIN}
    async with client(app) as http:
        declared = await http.post("/upload", content=b"x" * (LIMIT + 1), headers=headers)
        chunked = await http.post("/upload", content=chunks(LIMIT * 4), headers=headers)
        unread = await http.post("/ping", content=b"x" * (LIMIT + 1), headers=headers)
        under = await http.post("/upload", content=b"x" * LIMIT, headers=headers)
        under_chunked = await http.post("/upload", content=chunks(LIMIT), headers=headers)
        per_route = await http.post("/small", content=b"x" * 9, headers=headers)
        model = await http.post("/login", content=b'{"username": "' + b"x" * LIMIT + b'"}', headers=JSON)
    for response in (declared, chunked, unread, per_route, model):
        assert response.status_code == 413, response.text
        assert response.headers["content-type"] == "application/json"
        assert response.json() == {"detail": "Content Too Large"}
    for response in (declared, chunked, unread, per_route):
        assert response.headers["access-control-allow-origin"] == ORIGIN
        assert response.headers["x-timing"] == "1"
    assert under.json() == {"size": LIMIT}
    assert under_chunked.json() == {"size": LIMIT}
    assert [m.cls.__name__ for m in app.user_middleware][-1] == "RequestBodyLimit"


@pytest.mark.anyio
async def test_body_limit_uses_the_apps_own_http_exception_handler(tmp_path: Path) -> None:
    module = copied_alone("body_limit", tmp_path)
    app = existing_app()

    @app.exception_handler(StarletteHTTPException)
    async def problem(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse(
            {"title": exc.detail, "status": exc.status_code}, exc.status_code, media_type="application/problem+json"
        )

    module.install_body_limit(app, max_body_size=LIMIT)
    async with client(app) as http:
        declared = await http.post("/upload", content=b"x" * (LIMIT + 1))
        chunked = await http.post("/upload", content=chunks(LIMIT * 4))
    for response in (declared, chunked):
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json() == {"title": "Content Too Large", "status": 413}


def test_body_limit_refuses_bad_sizes_and_a_started_app(tmp_path: Path) -> None:
    module = copied_alone("body_limit", tmp_path)
    for bad in (-1, True, 1.5):
        with pytest.raises(ValueError, match="non-negative number of bytes"):
            module.RequestBodyLimit(existing_app(), max_body_size=bad)
    app = existing_app()
    app.middleware_stack = app.build_middleware_stack()
    with pytest.raises(RuntimeError, match="before the app serves"):
        module.install_body_limit(app, max_body_size=LIMIT)


SERVED_APP = """
from fastapi import FastAPI, Request
from starlette.middleware.cors import CORSMiddleware

from body_limit import install_body_limit

app = FastAPI()


@app.post("/upload")
async def upload(request: Request) -> dict[str, int]:
    return {"size": len(await request.body())}


app.add_middleware(CORSMiddleware, allow_origins=["https://app.example.com"])
install_body_limit(app, max_body_size=64)
"""


def test_body_limit_under_a_real_uvicorn(tmp_path: Path) -> None:
    shutil.copy2(TEMPLATES / "body_limit.py", tmp_path / "body_limit.py")
    (tmp_path / "served.py").write_text(SERVED_APP, encoding="utf-8")
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "served:app", "--port", str(port)],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    headers = {"Origin": ORIGIN}

    def chunked(total: int) -> Iterator[bytes]:
        for _ in range(total // 16):
            yield b"x" * 16

    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                under = httpx.post(f"{base}/upload", content=b"x" * 64, headers=headers, timeout=5)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "uvicorn did not start"
                time.sleep(0.1)
        declared = httpx.post(f"{base}/upload", content=b"x" * 65, headers=headers, timeout=5)
        streamed = httpx.post(f"{base}/upload", content=chunked(256), headers=headers, timeout=5)
        streamed_under = httpx.post(f"{base}/upload", content=chunked(48), headers=headers, timeout=5)
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert under.json() == {"size": 64}
    assert streamed_under.json() == {"size": 48}
    for response in (declared, streamed):
        assert response.status_code == 413
        assert response.json() == {"detail": "Content Too Large"}
        assert response.headers["access-control-allow-origin"] == ORIGIN
