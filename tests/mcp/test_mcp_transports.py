"""``production-fastapi mcp`` as a real process: every tool over stdio, and over streamable HTTP on a free port."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from mcp import Client, StdioServerParameters, stdio_client
from mcp.types import TextContent
from mcp_fixtures import *  # noqa: F403  (the pytest fixtures workspace)
from mcp_helpers import Workspace, console_script, free_port

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(120)]


async def exercise_every_tool(client: Client, workspace: Workspace) -> None:
    """One call of each tool, checked against what the tool is for."""
    names = {tool.name for tool in (await client.list_tools()).tools}
    assert names == {"list_templates", "get_template", "review_file", "review_project", "scaffold_service"}

    async def call(tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
        result = await client.call_tool(tool, arguments)
        block = result.content[0]
        assert isinstance(block, TextContent)
        assert not result.is_error, block.text
        assert result.structured_content is not None
        return result.structured_content

    templates = await call("list_templates", {})
    assert "middleware.py" in {t["name"] for t in templates["templates"]}
    assert "class ProductionMiddleware" in (await call("get_template", {"name": "middleware.py"}))["content"]
    assert "PF702" in {f["code"] for f in (await call("review_file", {"path": "app/main.py"}))["findings"]}
    assert "PF702" in {f["code"] for f in (await call("review_project", {"path": "app"}))["findings"]}
    scaffold = await call("scaffold_service", {"name": "stdio-svc", "destination": "generated"})
    assert (workspace.allowed / "generated" / "pyproject.toml").is_file()
    assert "pyproject.toml" in scaffold["files"]
    refused = await client.call_tool("review_file", {"path": str(workspace.outside / "secret.py")})
    assert refused.is_error
    skill = (await client.read_resource("production-fastapi://skill")).contents[0]
    assert getattr(skill, "text", "").startswith("---\n")
    prompt = await client.get_prompt("production", {"stack": "fastapi"})
    assert prompt.messages


async def test_every_tool_over_stdio(workspace: Workspace, tmp_path: Path) -> None:
    errlog = (tmp_path / "stderr.log").open("w+")
    params = StdioServerParameters(
        command=str(console_script()),
        args=["mcp", "--allow", str(workspace.allowed), "--log-level", "INFO"],
        cwd=str(workspace.allowed),
    )
    with errlog:
        async with Client(stdio_client(params, errlog=errlog)) as client:
            await exercise_every_tool(client, workspace)
        errlog.seek(0)
        logged = errlog.read()
    # Logs went to stderr (stdout carried only the protocol, or the client would have failed to parse it).
    assert "production-fastapi MCP server ready" in logged


def wait_for_port(port: int, process: subprocess.Popen[bytes], deadline: float) -> None:
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the server exited with {process.returncode}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise AssertionError(f"nothing listens on port {port}")


@pytest.fixture
def http_server(workspace: Workspace) -> Iterator[str]:
    port = free_port()
    process = subprocess.Popen(
        [str(console_script()), "mcp", "--http", f"127.0.0.1:{port}", "--allow", str(workspace.allowed)],
        cwd=workspace.allowed,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        wait_for_port(port, process, time.monotonic() + 30)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


async def test_every_tool_over_streamable_http(http_server: str, workspace: Workspace) -> None:
    async with Client(http_server) as client:
        await exercise_every_tool(client, workspace)
