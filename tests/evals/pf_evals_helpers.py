"""Helpers for the eval harness tests: a tiny task built in a temporary folder, fast enough to exercise the
harness's edge cases in a few seconds."""

from __future__ import annotations

from pathlib import Path
from textwrap import dedent

STARTER_MAIN = '''
from fastapi import FastAPI

app = FastAPI()


@app.get("/ping")
async def ping() -> dict[str, str]:
    return {"ping": "ok"}
'''

ORACLE_MAIN = '''
from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class ServedBy:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def tagged(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", []).append((b"x-served-by", b"tiny"))
            await send(message)

        await self.app(scope, receive, tagged)


app = FastAPI()
app.add_middleware(ServedBy)


@app.get("/ping")
async def ping() -> dict[str, str]:
    return {"ping": "ok"}


@app.get("/pong")
async def pong() -> dict[str, str]:
    return {"pong": "ok"}
'''


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(dedent(text).lstrip(), encoding="utf-8")


def build_tiny_task(root: Path) -> Path:
    task = root / "tiny-task"
    write(task / "task.toml", 'title = "tiny"\narea = "middleware"\nkind = "feature"\napp = "app.main:app"\n')
    write(task / "instruction.md", "Add GET /pong.\n")
    write(task / "starter/app/__init__.py", "")
    write(task / "starter/app/main.py", STARTER_MAIN)
    write(task / "starter/tests/test_ping.py", '''
        import httpx
        import pytest

        from app.main import app


        @pytest.mark.anyio
        async def test_ping() -> None:
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                assert (await client.get("/ping")).status_code == 200
        ''')
    write(task / "tests/test_requested.py", '''
        import pytest
        from pf_eval import client_for, import_app


        @pytest.mark.anyio
        async def test_pong() -> None:
            async with client_for(import_app()) as client:
                assert (await client.get("/pong")).status_code == 200
        ''')
    write(task / "tests/test_unrequested.py", '''
        import pytest
        from pf_eval import client_for, import_app


        @pytest.mark.anyio
        async def test_served_by_header() -> None:
            async with client_for(import_app()) as client:
                assert (await client.get("/ping")).headers.get("x-served-by") == "tiny"
        ''')
    write(task / "oracle/app/main.py", ORACLE_MAIN)
    no_header = 'description = "no header"\nfails = ["unrequested:test_served_by_header"]\n'
    write(task / "bad/no-header/variant.toml", no_header)
    write(task / "bad/no-header/app/main.py", ORACLE_MAIN.replace("app.add_middleware(ServedBy)\n", ""))
    write(task / "bad/no-pong/variant.toml", 'description = "no pong"\nfails = ["requested:test_pong"]\n')
    write(task / "bad/no-pong/app/main.py", ORACLE_MAIN.split('@app.get("/pong")', maxsplit=1)[0])
    return task

