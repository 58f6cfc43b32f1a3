"""A minimal coding agent on the Anthropic Messages API over httpx: list, read and write files in the workspace.

It exists so an eval can run with nothing but an API key (no CLI), and so the harness can be tested end to end with
a scripted model (``httpx.MockTransport``). Skills reach it the way Agent Skills clients expose them: the system
prompt lists each installed skill's name, description and SKILL.md path, and the model reads the file if it judges
the skill relevant. In the ``skill+mcp`` arm it also gets our MCP server's tools, called in memory.
"""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path
from typing import Any

import httpx

from production_fastapi.evals.agents import AgentRun
from production_fastapi.evals.arms import Workspace
from production_fastapi.evals.tasks import IGNORED_NAMES, Task

__all__ = ["MessagesAgent"]

API_URL = "https://api.anthropic.com/v1/messages"
_MAX_READ = 200_000
_SYSTEM = (
    "You are a software engineer working in a repository. Use the tools to inspect and change files; finish with a "
    "short summary of what you changed. Paths are relative to the repository root."
)
_FILE_TOOLS: list[dict[str, Any]] = [
    {
        "name": "list_files",
        "description": "List files under a folder of the repository (recursively).",
        "input_schema": {"type": "object", "properties": {"path": {"type": "string"}}, "required": []},
    },
    {
        "name": "read_file",
        "description": "Read a text file of the repository.",
        "input_schema": {"type": "object", "properties": {"path": {"type": "string"}}, "required": ["path"]},
    },
    {
        "name": "write_file",
        "description": "Create or replace a text file of the repository with the given content.",
        "input_schema": {
            "type": "object",
            "properties": {"path": {"type": "string"}, "content": {"type": "string"}},
            "required": ["path", "content"],
        },
    },
]


class ToolFailure(Exception):
    """Reported back to the model as a tool error."""


def _skills_section(repo: Path) -> str:
    lines: list[str] = []
    for skill in sorted((repo / ".claude" / "skills").glob("*/SKILL.md")):
        text = skill.read_text(encoding="utf-8")
        front = re.match(r"^---\n(.*?)\n---", text, re.DOTALL)
        fields = dict(re.findall(r"^(name|description):\s*(.+)$", front.group(1), re.MULTILINE)) if front else {}
        where = skill.relative_to(repo).as_posix()
        lines.append(f"- {fields.get('name', skill.parent.name)}: {fields.get('description', '')} (read {where})")
    if not lines:
        return ""
    return "\n\nSkills available in this repository (read a skill's SKILL.md when it applies):\n" + "\n".join(lines)


class MessagesAgent:
    name = "messages"

    def __init__(
        self,
        *,
        model: str = "claude-sonnet-4-5",
        max_turns: int = 40,
        max_tokens: int = 8192,
        api_key: str | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.model = model
        self.max_turns = max_turns
        self.max_tokens = max_tokens
        self.api_key = api_key if api_key is not None else os.environ.get("ANTHROPIC_API_KEY", "")
        self.transport = transport

    def unavailable(self) -> str | None:
        if not self.api_key and self.transport is None:
            return "ANTHROPIC_API_KEY is not set: the Messages API agent needs an API key"
        return None

    # -- tools -------------------------------------------------------------------------------------------------
    @staticmethod
    def _resolve(repo: Path, relative: str) -> Path:
        target = (repo / relative).resolve()
        if not target.is_relative_to(repo.resolve()):
            raise ToolFailure(f"{relative} is outside the repository")
        return target

    def _file_tool(self, repo: Path, name: str, arguments: dict[str, Any]) -> str:
        if name == "list_files":
            folder = self._resolve(repo, str(arguments.get("path") or "."))
            files = [
                path.relative_to(repo).as_posix() for path in sorted(folder.rglob("*"))
                if path.is_file() and not IGNORED_NAMES.intersection(path.relative_to(repo).parts)
            ]
            return "\n".join(files[:2000]) or "(no files)"
        if name == "read_file":
            path = self._resolve(repo, str(arguments["path"]))
            if not path.is_file():
                raise ToolFailure(f"{arguments['path']} does not exist")
            return path.read_text(encoding="utf-8", errors="replace")[:_MAX_READ]
        if name == "write_file":
            path = self._resolve(repo, str(arguments["path"]))
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(str(arguments["content"]), encoding="utf-8")
            return f"wrote {arguments['path']}"
        raise ToolFailure(f"unknown tool {name}")

    # -- loop --------------------------------------------------------------------------------------------------
    def run(self, task: Task, workspace: Workspace, trial: int) -> AgentRun:
        import anyio

        return anyio.run(self._run, task, workspace)

    async def _run(self, task: Task, workspace: Workspace) -> AgentRun:
        from contextlib import AsyncExitStack

        run = AgentRun(model=self.model)
        started = time.monotonic()
        async with AsyncExitStack() as stack:
            mcp_client = None
            tools = list(_FILE_TOOLS)
            if workspace.arm == "skill+mcp":
                mcp_client, mcp_tools = await self._connect_mcp(stack, workspace.repo)
                tools += mcp_tools
            http = await stack.enter_async_context(
                httpx.AsyncClient(
                    transport=self.transport,  # type: ignore[arg-type]
                    timeout=httpx.Timeout(300.0, connect=10.0),
                    headers={"x-api-key": self.api_key, "anthropic-version": "2023-06-01"},
                )
            )
            messages: list[dict[str, Any]] = [{"role": "user", "content": task.instruction}]
            system = _SYSTEM + _skills_section(workspace.repo)
            for _ in range(self.max_turns):
                if time.monotonic() - started > task.agent_timeout:
                    run.timed_out = True
                    break
                body = {
                    "model": self.model, "max_tokens": self.max_tokens, "system": system,
                    "tools": tools, "messages": messages,
                }
                try:
                    response = await http.post(API_URL, json=body)
                except httpx.HTTPError as exc:
                    run.error = f"Messages API unreachable: {type(exc).__name__}"
                    break
                if response.status_code != 200:
                    run.error = f"Messages API answered {response.status_code}: {response.text[:300]}"
                    break
                reply = response.json()
                usage = reply.get("usage") or {}
                run.events.append({
                    "type": "usage",
                    "input_tokens": usage.get("input_tokens"),
                    "output_tokens": usage.get("output_tokens"),
                })
                content = reply.get("content") or []
                messages.append({"role": "assistant", "content": content})
                results: list[dict[str, Any]] = []
                for block in content:
                    if block.get("type") != "tool_use":
                        continue
                    run.events.append({"type": "tool_use", "name": block["name"], "input": block.get("input") or {}})
                    results.append(await self._call(workspace.repo, mcp_client, block))
                if reply.get("stop_reason") != "tool_use" or not results:
                    break
                messages.append({"role": "user", "content": results})
        run.seconds = time.monotonic() - started
        return run

    async def _call(self, repo: Path, mcp_client: Any, block: dict[str, Any]) -> dict[str, Any]:
        name, arguments = block["name"], block.get("input") or {}
        try:
            if name.startswith("mcp__production-fastapi__"):
                result = await mcp_client.call_tool(name.rsplit("__", 1)[-1], arguments)
                text = "\n".join(getattr(part, "text", "") for part in result.content)
                return {"type": "tool_result", "tool_use_id": block["id"], "content": text, "is_error": result.is_error}
            text = self._file_tool(repo, name, arguments)
        except (ToolFailure, KeyError, OSError) as exc:
            return {"type": "tool_result", "tool_use_id": block["id"], "content": str(exc), "is_error": True}
        return {"type": "tool_result", "tool_use_id": block["id"], "content": text}

    @staticmethod
    async def _connect_mcp(stack: Any, repo: Path) -> tuple[Any, list[dict[str, Any]]]:
        """Our MCP server, in memory, allowed to touch only the workspace; its tools renamed as Claude Code names
        them (``mcp__production-fastapi__<tool>``) so transcripts read the same."""
        from mcp import Client

        from production_fastapi.mcp.paths import PathPolicy
        from production_fastapi.mcp.server import build_server

        client = await stack.enter_async_context(Client(build_server(PathPolicy.from_dirs([repo]))))
        listed = await client.list_tools()
        tools = [
            {
                "name": f"mcp__production-fastapi__{tool.name}",
                "description": tool.description or tool.name,
                "input_schema": json.loads(json.dumps(tool.input_schema)),
            }
            for tool in listed.tools
        ]
        return client, tools
