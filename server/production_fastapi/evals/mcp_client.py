"""A minimal MCP client over stdio, copied into a ``skill+mcp`` scratch project for an agent without MCP support.

    python .mcp_client.py list                         # tools with their descriptions and input schemas
    python .mcp_client.py call TOOL '{"path": "app"}'  # call a tool with JSON arguments, print its result
    python .mcp_client.py instructions                 # what the server says about itself
    python .mcp_client.py resources                    # resources (URIs and descriptions)
    python .mcp_client.py read URI                     # one resource's text

It starts the real ``production-fastapi mcp`` server (this interpreter, ``-m production_fastapi mcp``) with the
folder holding this script as its working and only allowed directory, speaks newline-delimited JSON-RPC to it, and
stops it. Standard library only, so it runs wherever the server's interpreter does.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import IO, Any

PROJECT = Path(__file__).resolve().parent
SERVER = [sys.executable, "-m", "production_fastapi", "mcp", "--allow", str(PROJECT)]
PROTOCOL_VERSION = "2025-06-18"
USAGE = "usage: .mcp_client.py list | instructions | resources | read URI | call TOOL 'JSON-ARGUMENTS'"
_ARITY = {"list": 1, "instructions": 1, "resources": 1, "read": 2, "call": 3}


class Session:
    def __init__(self) -> None:
        self.process = subprocess.Popen(
            SERVER, cwd=PROJECT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
        )
        self.next_id = 0

    def _write(self, message: dict[str, Any]) -> None:
        stdin: IO[bytes] | None = self.process.stdin
        assert stdin is not None
        stdin.write(json.dumps({"jsonrpc": "2.0", **message}).encode() + b"\n")
        stdin.flush()

    def request(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        self.next_id += 1
        self._write({"id": self.next_id, "method": method, "params": params})
        stdout: IO[bytes] | None = self.process.stdout
        assert stdout is not None
        while True:
            line = stdout.readline()
            if not line:
                raise SystemExit(f"the MCP server exited before answering {method}")
            message = json.loads(line)
            if "method" in message and "id" in message:
                # A request from the server (roots, sampling): this client offers none of those.
                self._write({"id": message["id"], "error": {"code": -32601, "message": "not supported"}})
            elif message.get("id") == self.next_id:
                if "error" in message:
                    raise SystemExit(f"{method} failed: {message['error'].get('message')}")
                result: dict[str, Any] = message["result"]
                return result

    def initialize(self) -> dict[str, Any]:
        result = self.request("initialize", {
            "protocolVersion": PROTOCOL_VERSION,
            "capabilities": {},
            "clientInfo": {"name": "pf-eval-client", "version": "1"},
        })
        self._write({"method": "notifications/initialized"})
        return result

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def _listing(session: Session, kind: str) -> list[dict[str, Any]]:
    """Every page of ``tools/list`` or ``resources/list``."""
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        page = session.request(f"{kind}/list", {"cursor": cursor} if cursor else {})
        items.extend(page.get(kind, []))
        cursor = page.get("nextCursor")
        if not cursor:
            return items


def main(argv: list[str]) -> int:
    if not argv or _ARITY.get(argv[0]) != len(argv):
        print(USAGE, file=sys.stderr)
        return 2
    arguments: object = {}
    if argv[0] == "call":
        try:
            arguments = json.loads(argv[2])
        except json.JSONDecodeError as exc:
            print(f"the arguments are not JSON: {exc}", file=sys.stderr)
            return 2
        if not isinstance(arguments, dict):
            print("the arguments must be a JSON object", file=sys.stderr)
            return 2
    session = Session()
    try:
        info = session.initialize()
        if argv[0] == "instructions":
            print(info.get("instructions", ""))
            return 0
        if argv[0] == "list":
            for tool in _listing(session, "tools"):
                print(f"## {tool['name']}\n{tool.get('description', '').strip()}")
                print("input schema: " + json.dumps(tool.get("inputSchema", {}), indent=2) + "\n")
            return 0
        if argv[0] == "resources":
            for resource in _listing(session, "resources"):
                print(f"{resource['uri']}  {(resource.get('description') or resource.get('name', '')).strip()}")
            return 0
        if argv[0] == "read":
            for content in session.request("resources/read", {"uri": argv[1]}).get("contents", []):
                print(content.get("text", f"<{content.get('mimeType', 'binary')} content>"))
            return 0
        result = session.request("tools/call", {"name": argv[1], "arguments": arguments})
        for block in result.get("content", []):
            print(block["text"] if block.get("type") == "text" else json.dumps(block))
        return 1 if result.get("isError") else 0
    finally:
        session.close()


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
