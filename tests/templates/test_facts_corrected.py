"""Pins for the facts issue #14 corrected in SKILL.md, references/ and templates/: each runs the pinned library and
checks that the text now says what the library does."""

from __future__ import annotations

import asyncio
import contextvars
import os
import re
import select
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest
from fastapi import FastAPI, Request
from helpers import REPO, free_port
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

SKILL = (REPO / "SKILL.md").read_text(encoding="utf-8")
REFERENCES = {path.name: path.read_text(encoding="utf-8") for path in (REPO / "references").glob("*.md")}
GUNICORN_CONF = (REPO / "templates" / "gunicorn_conf.py").read_text(encoding="utf-8")


def flat(text: str) -> str:
    """Markdown wrapped over lines, as one line: claims are checked whatever the wrapping."""
    return re.sub(r"\s+", " ", text)


marker: contextvars.ContextVar[str] = contextvars.ContextVar("marker", default="unset")


@pytest.mark.anyio
async def test_base_http_middleware_loses_what_the_endpoint_sets_not_what_dispatch_sets() -> None:
    from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint

    seen: dict[str, str] = {}

    class Dispatch(BaseHTTPMiddleware):
        async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
            marker.set("set in dispatch")
            response = await call_next(request)
            seen["dispatch, after call_next"] = marker.get()
            return response

    class Outer:
        def __init__(self, app: ASGIApp) -> None:
            self.app = app

        async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
            await self.app(scope, receive, send)
            if scope["type"] == "http":
                seen["outer"] = marker.get()

    app = FastAPI()

    @app.get("/")
    async def endpoint() -> dict[str, str]:
        seen["endpoint"] = marker.get()
        marker.set("set in endpoint")
        return {}

    app.add_middleware(Dispatch)
    app.add_middleware(Outer)  # added last: outermost
    context = contextvars.copy_context()

    async def call() -> None:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://t") as client:
            assert (await client.get("/")).status_code == 200

    await context.run(asyncio.create_task, call())
    assert seen == {
        "endpoint": "set in dispatch",  # flows in
        "dispatch, after call_next": "set in dispatch",  # the endpoint's value is lost: it ran in another task
        "outer": "set in dispatch",  # flows out: dispatch runs in the outer middleware's task
    }
    assert "variables `dispatch` sets reach outer code, values the endpoint and inner middleware set are lost" in flat(
        SKILL
    )


def test_body_limit_middleware_is_dated_to_starlette_1_6() -> None:
    # Absent from starlette 1.0-1.5 (checked against the 1.5.0 and 1.6.0 wheels); the pinned version has it.
    import starlette
    from starlette.middleware.body_limit import RequestBodyLimitMiddleware

    major, minor = (int(part) for part in starlette.__version__.split(".")[:2])
    assert (major, minor) >= (1, 6)
    assert RequestBodyLimitMiddleware.__module__ == "starlette.middleware.body_limit"
    assert "Starlette 1.6's `RequestBodyLimitMiddleware` (absent in 1.0-1.5)" in flat(SKILL)
    assert "Starlette 1.x's" not in SKILL


def test_uvicorn_workers_warning_is_hidden_by_default_and_a_gunicorn_run_prints_nothing(tmp_path: Path) -> None:
    env = {key: value for key, value in os.environ.items() if key != "PYTHONWARNINGS"}
    quiet = subprocess.run(
        [sys.executable, "-c", "import uvicorn.workers"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=True,
    )
    assert quiet.stderr == ""
    (tmp_path / "asgi.py").write_text("async def app(scope, receive, send):\n    pass\n", encoding="utf-8")
    gunicorn = Path(sys.executable).parent / "gunicorn"
    server = subprocess.Popen(
        [
            str(gunicorn),
            "-k",
            "uvicorn.workers.UvicornWorker",
            "-b",
            f"127.0.0.1:{free_port()}",
            "--no-control-socket",
            "asgi:app",
        ],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output: list[str] = []
    try:
        assert server.stdout is not None
        deadline = time.monotonic() + 30
        while not any("Booting worker" in line for line in output) and time.monotonic() < deadline:
            if select.select([server.stdout], [], [], 1.0)[0]:
                output.append(server.stdout.readline())
        time.sleep(1.0)  # the worker imports uvicorn.workers after booting
        server.send_signal(signal.SIGTERM)
        rest, _ = server.communicate(timeout=30)
        output.append(rest)
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
    text = "".join(output)
    assert "Using worker: uvicorn.workers.UvicornWorker" in text
    assert "Deprecat" not in text
    assert "uvicorn-worker" not in text
    assert "Python hides that warning by default" in flat(SKILL)


LIFESPAN_LOGGING_APP = """
import logging
from contextlib import asynccontextmanager

from fastapi import FastAPI


@asynccontextmanager
async def lifespan(app):
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("CONFIGURED %(message)s"))
    logging.getLogger("uvicorn").handlers[:] = [handler]
    yield


app = FastAPI(lifespan=lifespan)
"""


def test_logging_configured_in_lifespan_misses_only_uvicorns_first_two_lines(tmp_path: Path) -> None:
    (tmp_path / "lateapp.py").write_text(LIFESPAN_LOGGING_APP, encoding="utf-8")
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "lateapp:app", "--port", str(free_port())],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    try:
        assert server.stdout is not None
        deadline = time.monotonic() + 30
        while not any("Uvicorn running on" in line for line in lines) and time.monotonic() < deadline:
            if select.select([server.stdout], [], [], 1.0)[0]:
                lines.append(server.stdout.readline())
        server.send_signal(signal.SIGTERM)
        server.communicate(timeout=30)
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
    assert lines[0].startswith("INFO:     Started server process")
    assert lines[1].startswith("INFO:     Waiting for application startup.")
    assert all(line.startswith("CONFIGURED ") for line in lines[2:]), lines
    assert any("Uvicorn running on" in line for line in lines[2:])
    text = flat(SKILL)
    assert "misses uvicorn's first two startup lines" in text


def test_bare_root_validator_raises_at_class_definition_and_orm_mode_warns() -> None:
    import pydantic
    from pydantic.errors import PydanticUserError

    def define_bare_root_validator() -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)

            class Bare(pydantic.BaseModel):
                x: int

                @pydantic.root_validator  # type: ignore[call-overload, untyped-decorator]
                def check(cls, values: dict[str, object]) -> dict[str, object]:
                    return values

    with pytest.raises(PydanticUserError, match="skip_on_failure=True"):
        define_bare_root_validator()

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")

        class Legacy(pydantic.BaseModel):
            x: int

            class Config:
                orm_mode = True

    assert any(w.category is UserWarning and "orm_mode" in str(w.message) for w in caught)
    text = flat(SKILL)
    assert "a bare `@root_validator` raise at class definition" in text
    assert "`orm_mode` also gives a `UserWarning`" in text


def test_rate_limit_exceeded_is_an_http_exception_without_retry_after() -> None:
    from slowapi.errors import RateLimitExceeded
    from starlette.exceptions import HTTPException

    exc = RateLimitExceeded(SimpleNamespace(error_message=None, limit="5 per 1 minute"))  # type: ignore[arg-type]
    assert isinstance(exc, HTTPException)
    assert (exc.status_code, exc.detail, exc.headers) == (429, "5 per 1 minute", None)
    assert not hasattr(exc, "retry_after")
    rate_limiting = flat(REFERENCES["rate-limiting.md"])
    assert "`limit` plus `HTTPException`'s `status_code`, `detail` and `headers`" in rate_limiting
    assert "has only `.limit`" not in rate_limiting


@pytest.mark.parametrize("xdg", [True, False], ids=["xdg-runtime-dir", "home"])
def test_gunicorn_control_socket_prefers_xdg_runtime_dir(tmp_path: Path, xdg: bool) -> None:
    runtime = tmp_path / "run"
    runtime.mkdir()
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path / "home")}
    if xdg:
        env["XDG_RUNTIME_DIR"] = str(runtime)
    result = subprocess.run(
        [sys.executable, "-c", "from gunicorn.config import Config; print(Config().control_socket)"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=True,
    )
    expected = runtime / "gunicorn.ctl" if xdg else tmp_path / "home" / ".gunicorn" / "gunicorn.ctl"
    assert result.stdout.strip() == str(expected)
    assert "$XDG_RUNTIME_DIR/gunicorn.ctl when that is set, else under $HOME/.gunicorn/" in flat(
        GUNICORN_CONF.replace("\n# ", " ")
    )
