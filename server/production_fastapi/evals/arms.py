"""The three arms and the workspace each one gives an agent.

- ``baseline``: the starter, nothing of ours anywhere the agent reads.
- ``skill``: the starter plus the skill installed where agents look (``.claude/skills/production-fastapi/`` for
  Claude Code and the Agent SDK, ``.agents/skills/production-fastapi/`` for Codex, Copilot and Gemini CLI).
- ``skill+mcp``: the skill plus a project ``.mcp.json`` that starts our MCP server in the workspace.

The prompt is the task's instruction, written *outside* the workspace so it is never mistaken for project files.
"""

from __future__ import annotations

import json
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from production_fastapi.evals.tasks import Task, copy_tree

__all__ = ["ARMS", "Workspace", "mcp_config", "prepare_workspace", "strip_agent_files"]

ARMS = ("baseline", "skill", "skill+mcp")
# What the harness adds and removes again before grading: agent configuration, not the agent's work.
AGENT_FILES = (".claude", ".agents", ".mcp.json")


@dataclass(frozen=True, slots=True)
class Workspace:
    root: Path
    repo: Path
    prompt_file: Path
    arm: str


def mcp_config() -> dict[str, object]:
    """The MCP server entry a project ``.mcp.json`` needs: this interpreter running ``production-fastapi mcp``."""
    return {
        "mcpServers": {
            "production-fastapi": {"command": sys.executable, "args": ["-m", "production_fastapi", "mcp"]}
        }
    }


def prepare_workspace(task: Task, arm: str, root: Path) -> Workspace:
    if arm not in ARMS:
        raise ValueError(f"unknown arm {arm!r}; choose from {', '.join(ARMS)}")
    from production_fastapi.install import destination, install

    repo = root / "repo"
    if repo.exists():
        shutil.rmtree(repo)
    repo.mkdir(parents=True)
    copy_tree(task.starter, repo)
    if arm in ("skill", "skill+mcp"):
        for agent in ("claude", "agents"):
            install(destination("project", agent, repo))
    if arm == "skill+mcp":
        (repo / ".mcp.json").write_text(json.dumps(mcp_config(), indent=2) + "\n", encoding="utf-8")
    prompt_file = root / "prompt.md"
    prompt_file.write_text(task.instruction, encoding="utf-8")
    return Workspace(root=root, repo=repo, prompt_file=prompt_file, arm=arm)


def strip_agent_files(repo: Path) -> None:
    """Remove what the harness installed, so graders see only the agent's work."""
    for name in AGENT_FILES:
        target = repo / name
        if target.is_dir():
            shutil.rmtree(target)
        elif target.exists():
            target.unlink()
