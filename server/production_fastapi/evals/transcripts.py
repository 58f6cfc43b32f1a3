"""What a transcript says about a run: did the agent use the skill and our MCP tools, and what did it cost.

Reads JSON Lines in three shapes: Claude Code's ``--output-format stream-json`` (and the Agent SDK's messages, which
the SDK adapter writes in that shape), and the harness's own records (``{"type": "tool_use", ...}``,
``{"type": "usage", ...}``) written by the Messages API adapter and the command agent.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["SKILL_NAME", "Usage", "read_transcript", "usage_from_events"]

SKILL_NAME = "production-fastapi"
_MCP_PREFIXES = ("mcp__production-fastapi__", "mcp__production_fastapi__", "mcp__plugin_production-fastapi")
_READ_TOOLS = frozenset({"Read", "read_file", "View", "Glob", "Grep", "Bash", "view", "cat"})


@dataclass(slots=True)
class Usage:
    skill_used: bool = False
    templates_read: bool = False
    mcp_tools: list[str] = field(default_factory=list)
    tool_calls: int = 0
    input_tokens: int | None = None
    output_tokens: int | None = None
    cost_usd: float | None = None
    turns: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "skill_used": self.skill_used,
            "templates_read": self.templates_read,
            "mcp_tools": sorted(set(self.mcp_tools)),
            "tool_calls": self.tool_calls,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "cost_usd": self.cost_usd,
            "turns": self.turns,
        }


def read_transcript(path: Path) -> list[dict[str, Any]]:
    """Every JSON object line of ``path``; other lines (progress text) are skipped."""
    events: list[dict[str, Any]] = []
    for raw in path.read_text(encoding="utf-8", errors="replace").splitlines():
        line = raw.strip()
        if not line.startswith("{"):
            continue
        try:
            value = json.loads(line)
        except ValueError:
            continue
        if isinstance(value, dict):
            events.append(value)
    return events


def _tool_uses(event: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    if event.get("type") == "tool_use" and isinstance(event.get("name"), str):
        return [(event["name"], event.get("input") or {})]
    message = event.get("message")
    content = message.get("content") if isinstance(message, dict) else None
    if not isinstance(content, list):
        return []
    return [
        (block["name"], block.get("input") or {})
        for block in content
        if isinstance(block, dict) and block.get("type") == "tool_use" and isinstance(block.get("name"), str)
    ]


def _add(current: int | None, value: object) -> int | None:
    if isinstance(value, int):
        return (current or 0) + value
    return current


def usage_from_events(events: list[dict[str, Any]]) -> Usage:
    usage = Usage()
    result_seen = False
    for event in events:
        for name, arguments in _tool_uses(event):
            usage.tool_calls += 1
            text = json.dumps(arguments)
            if name == "Skill" and SKILL_NAME in text:
                usage.skill_used = True
            if name in _READ_TOOLS and f"{SKILL_NAME}/SKILL.md" in text:
                usage.skill_used = True
            if name in _READ_TOOLS and f"{SKILL_NAME}/templates" in text:
                usage.templates_read = True
            if name.startswith(_MCP_PREFIXES):
                usage.mcp_tools.append(name.rsplit("__", 1)[-1])
        if event.get("type") == "result":
            # Claude Code's final record carries the run's totals: prefer them over per-message sums.
            result_seen = True
            totals = event.get("usage") or {}
            usage.input_tokens = _add(None, totals.get("input_tokens"))
            usage.input_tokens = _add(usage.input_tokens, totals.get("cache_read_input_tokens"))
            usage.input_tokens = _add(usage.input_tokens, totals.get("cache_creation_input_tokens"))
            usage.output_tokens = _add(None, totals.get("output_tokens"))
            cost = event.get("total_cost_usd")
            usage.cost_usd = float(cost) if isinstance(cost, int | float) else None
            turns = event.get("num_turns")
            usage.turns = turns if isinstance(turns, int) else None
        elif event.get("type") == "usage" and not result_seen:
            usage.input_tokens = _add(usage.input_tokens, event.get("input_tokens"))
            usage.output_tokens = _add(usage.output_tokens, event.get("output_tokens"))
            cost = event.get("cost_usd")
            if isinstance(cost, int | float):
                usage.cost_usd = (usage.cost_usd or 0.0) + float(cost)
            usage.turns = (usage.turns or 0) + 1
    return usage
