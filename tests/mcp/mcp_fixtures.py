"""Fixtures for the MCP server tests: a workspace with an allowed folder and things outside it, and clients.

Test modules import them with ``from mcp_fixtures import *``. This folder has no ``__init__.py`` on purpose: it
would make a package named ``mcp`` that shadows the SDK.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from mcp import Client
from mcp.server.mcpserver import MCPServer
from mcp_helpers import BAD_MAIN, SECRET, Workspace

from production_fastapi.mcp.paths import PathPolicy
from production_fastapi.mcp.server import build_server

__all__ = ["client", "server", "workspace"]


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    allowed = tmp_path / "allowed"
    (allowed / "app").mkdir(parents=True)
    (allowed / "app" / "__init__.py").write_text("")
    (allowed / "app" / "main.py").write_text(BAD_MAIN)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.py").write_text(SECRET)
    evil = tmp_path / "allowed-evil"
    evil.mkdir()
    (evil / "app.py").write_text(SECRET)
    return Workspace(tmp_path, allowed, outside, evil)


@pytest.fixture
def server(workspace: Workspace) -> MCPServer:
    return build_server(PathPolicy.from_dirs([workspace.allowed]))


@pytest.fixture
async def client(server: MCPServer) -> AsyncIterator[Client]:
    async with Client(server) as connected:
        yield connected
