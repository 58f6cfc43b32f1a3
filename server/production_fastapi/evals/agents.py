"""Agents the harness can run: a recorded run, any shell command, and two live adapters.

Each agent edits ``workspace.repo`` in place and returns an :class:`AgentRun` with its transcript events.
``unavailable()`` says, in one sentence, why an agent cannot run here (missing package or credentials); the runner
then skips it instead of recording failures that say nothing about the skill.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from production_fastapi.evals.arms import Workspace
from production_fastapi.evals.record import CHANGES_FILE, RecordError, rebuild_tree
from production_fastapi.evals.tasks import Task, copy_tree
from production_fastapi.evals.transcripts import read_transcript

__all__ = ["Agent", "AgentRun", "ClaudeSDKAgent", "CommandAgent", "ReplayAgent", "recording_dir"]


@dataclass(slots=True)
class AgentRun:
    events: list[dict[str, Any]] = field(default_factory=list)
    seconds: float | None = None
    # The agent could not do its job for reasons outside it (not logged in, crashed, recording missing).
    error: str | None = None
    timed_out: bool = False
    model: str | None = None
    # Total tokens when only a total is known (an agent that reported it); transcripts carry the split otherwise.
    tokens: int | None = None


class Agent(Protocol):
    name: str

    def unavailable(self) -> str | None: ...

    def run(self, task: Task, workspace: Workspace, trial: int) -> AgentRun: ...


def recording_dir(run: Path, task: str, arm: str, trial: int) -> Path:
    return run / task / arm / str(trial)


class ReplayAgent:
    """Replays a recorded run: the trial's tree is rebuilt (starter plus recorded changes) in the workspace, and its
    transcript and metadata are read back. Runs recorded before lean records (a full ``files/`` tree and a
    ``meta.json``) still replay."""

    name = "replay"

    def __init__(self, source: Path) -> None:
        self.source = source

    def unavailable(self) -> str | None:
        if not self.source.is_dir():
            return f"no recorded run at {self.source}"
        return None

    def run(self, task: Task, workspace: Workspace, trial: int) -> AgentRun:
        recorded = recording_dir(self.source, task.id, workspace.arm, trial)
        shutil.rmtree(workspace.repo)
        if (recorded / CHANGES_FILE).is_file():
            try:
                rebuild_tree(task.starter, self.source, recorded, workspace.repo)
            except RecordError as exc:
                workspace.repo.mkdir(exist_ok=True)
                return AgentRun(error=str(exc))
        elif (recorded / "files").is_dir():
            workspace.repo.mkdir()
            copy_tree(recorded / "files", workspace.repo)
        else:
            workspace.repo.mkdir()
            return AgentRun(error=f"no recording for {task.id}/{workspace.arm}/{trial} in {self.source}")
        meta: dict[str, Any] = {}
        for name in ("meta.json", "result.json"):
            if (recorded / name).is_file():
                meta = json.loads((recorded / name).read_text(encoding="utf-8"))
                break
        events = read_transcript(recorded / "transcript.jsonl") if (recorded / "transcript.jsonl").is_file() else []
        return AgentRun(
            events=events,
            seconds=meta.get("seconds_agent"),
            error=meta.get("agent_error"),
            timed_out=bool(meta.get("timed_out", False)),
            model=meta.get("model"),
            tokens=meta.get("tokens"),
        )


class CommandAgent:
    """Any agent with a command line: ``claude -p``, ``codex exec``, aider.

    The template gets ``{workdir}`` (the repository to edit), ``{prompt_file}`` (the instruction), ``{prompt}``
    (its text), ``{task}`` and ``{arm}``, each shell-quoted. The command runs in the workspace; its stdout is the
    transcript (JSON lines are understood, e.g. ``--output-format stream-json``). A non-zero exit is an agent
    error (not logged in, crashed), counted apart from failed checks; a timeout still gets graded.
    """

    name = "command"

    def __init__(self, template: str, *, timeout: float | None = None) -> None:
        if "{workdir}" not in template and "{prompt_file}" not in template and "{prompt}" not in template:
            raise ValueError("the command template must use {prompt_file} or {prompt} (and usually {workdir})")
        self.template = template
        self.timeout = timeout

    def unavailable(self) -> str | None:
        program = shlex.split(self.template)[0] if self.template.strip() else ""
        if program and "{" not in program and shutil.which(program) is None and not Path(program).exists():
            return f"{program!r} is not on PATH"
        return None

    def command(self, task: Task, workspace: Workspace) -> str:
        values = {
            "workdir": str(workspace.repo),
            "prompt_file": str(workspace.prompt_file),
            "prompt": workspace.prompt_file.read_text(encoding="utf-8"),
            "task": task.id,
            "arm": workspace.arm,
        }
        return self.template.format(**{key: shlex.quote(value) for key, value in values.items()})

    def run(self, task: Task, workspace: Workspace, trial: int) -> AgentRun:
        transcript = workspace.root / "transcript.jsonl"
        started = time.monotonic()
        with transcript.open("w", encoding="utf-8") as out:
            process = subprocess.Popen(
                ["bash", "-c", self.command(task, workspace)],
                cwd=workspace.repo,
                stdout=out,
                stderr=subprocess.PIPE,
                text=True,
                start_new_session=True,
            )
            try:
                _, stderr = process.communicate(timeout=self.timeout or task.agent_timeout)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, 9)
                process.communicate()
                return AgentRun(events=read_transcript(transcript), seconds=time.monotonic() - started, timed_out=True)
        run = AgentRun(events=read_transcript(transcript), seconds=time.monotonic() - started)
        if process.returncode != 0:
            run.error = f"command exited with {process.returncode}: {stderr.strip()[-500:]}"
        return run


def _credentials() -> bool:
    if os.environ.get("ANTHROPIC_API_KEY") or os.environ.get("CLAUDE_CODE_OAUTH_TOKEN"):
        return True
    return (Path.home() / ".claude" / ".credentials.json").is_file()


class ClaudeSDKAgent:
    """Claude Code through the Claude Agent SDK (``pip install 'production-fastapi[evals]'``).

    The agent works in the workspace with project settings only (``setting_sources=["project"]``), so skills in the
    user's home never leak into the baseline arm; the ``skill+mcp`` arm also gets our MCP server.
    """

    name = "claude-sdk"

    def __init__(self, *, model: str | None = None, max_turns: int = 60) -> None:
        self.model = model
        self.max_turns = max_turns

    def unavailable(self) -> str | None:
        try:
            import claude_agent_sdk  # noqa: F401
        except ImportError:
            return "claude-agent-sdk is not installed: pip install 'production-fastapi[evals]'"
        if not _credentials():
            return "no Claude credentials: set ANTHROPIC_API_KEY (or log in with `claude /login`)"
        return None

    def run(self, task: Task, workspace: Workspace, trial: int) -> AgentRun:
        import anyio

        return anyio.run(self._run, task, workspace)

    async def _run(self, task: Task, workspace: Workspace) -> AgentRun:
        from claude_agent_sdk import AssistantMessage, ClaudeAgentOptions, ResultMessage, query
        from claude_agent_sdk.types import TextBlock, ToolUseBlock

        from production_fastapi.evals.arms import mcp_config

        servers: dict[str, Any] = {}
        if workspace.arm == "skill+mcp":
            servers = dict(mcp_config()["mcpServers"])  # type: ignore[call-overload]
        options = ClaudeAgentOptions(
            cwd=str(workspace.repo),
            permission_mode="bypassPermissions",
            setting_sources=["project"],
            mcp_servers=servers,
            max_turns=self.max_turns,
            model=self.model,
        )
        run = AgentRun(model=self.model)
        started = time.monotonic()
        try:
            import anyio

            with anyio.fail_after(task.agent_timeout):
                async for message in query(prompt=task.instruction, options=options):
                    if isinstance(message, AssistantMessage):
                        blocks: list[dict[str, Any]] = []
                        for block in message.content:
                            if isinstance(block, ToolUseBlock):
                                blocks.append({"type": "tool_use", "name": block.name, "input": block.input})
                            elif isinstance(block, TextBlock):
                                blocks.append({"type": "text", "text": block.text})
                        run.events.append({"type": "assistant", "message": {"content": blocks}})
                    elif isinstance(message, ResultMessage):
                        run.events.append({
                            "type": "result",
                            "usage": message.usage or {},
                            "total_cost_usd": message.total_cost_usd,
                            "num_turns": message.num_turns,
                            "is_error": message.is_error,
                        })
                        if message.is_error:
                            run.error = f"the agent ended with an error: {message.subtype}"
        except TimeoutError:
            run.timed_out = True
        except Exception as exc:  # the SDK or CLI failed: infrastructure, not the agent's answer
            run.error = f"{type(exc).__name__}: {exc}"
        run.seconds = time.monotonic() - started
        return run
