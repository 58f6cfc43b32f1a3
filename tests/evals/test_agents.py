"""Agents in their arms: a command agent (a scripted stand-in for `claude -p`), the Messages API agent against a
scripted model (httpx.MockTransport: the only mock, standing in for the LLM), and live adapters skipping cleanly."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from pf_evals_helpers import ORACLE_MAIN

from production_fastapi.evals.agents import ClaudeSDKAgent, CommandAgent
from production_fastapi.evals.arms import prepare_workspace
from production_fastapi.evals.messages_agent import MessagesAgent
from production_fastapi.evals.report import build_report
from production_fastapi.evals.runner import run_eval
from production_fastapi.evals.tasks import Task

# A stand-in for a CLI agent: it does the task well only when the skill is installed where agents look, and
# prints stream-json lines the way `claude -p --output-format stream-json` does.
FAKE_AGENT = '''
import json, pathlib, sys
repo = pathlib.Path(sys.argv[1])
prompt = pathlib.Path(sys.argv[2]).read_text()
skill = repo / ".claude" / "skills" / "production-fastapi" / "SKILL.md"
assert "/pong" in prompt
main = repo / "app" / "main.py"
if skill.is_file():
    print(json.dumps({"type": "assistant", "message": {"content": [
        {"type": "tool_use", "name": "Skill", "input": {"skill": "production-fastapi"}}]}}))
    main.write_text(sys.argv[3])
else:
    pong = "\\n\\n@app.get('/pong')\\nasync def pong() -> dict[str, str]:\\n    return {}\\n"
    main.write_text(main.read_text() + pong)
print(json.dumps({"type": "result", "num_turns": 3, "total_cost_usd": 0.01,
                  "usage": {"input_tokens": 1200, "output_tokens": 300}}))
'''


def test_command_agent_runs_in_each_arm_and_its_usage_is_recorded(tiny_task: Task, tmp_path: Path) -> None:
    script = tmp_path / "fake_agent.py"
    script.write_text(FAKE_AGENT)
    oracle = tmp_path / "oracle.py"
    oracle.write_text(ORACLE_MAIN)
    agent = CommandAgent(f"{sys.executable} {script} {{workdir}} {{prompt_file}} \"$(cat {oracle})\"")
    out = tmp_path / "run"
    records = run_eval([tiny_task], agent, ["baseline", "skill", "skill+mcp"], 1, out)
    by_arm = {record["arm"]: record for record in records}
    assert by_arm["baseline"]["checks"]["requested:test_pong"] == "passed"
    assert by_arm["baseline"]["checks"]["unrequested:test_served_by_header"] == "failed"
    assert by_arm["skill"]["checks"]["unrequested:test_served_by_header"] == "passed"
    assert not by_arm["baseline"]["usage"]["skill_used"]
    assert by_arm["skill"]["usage"]["skill_used"]
    assert by_arm["skill"]["usage"]["cost_usd"] == 0.01
    # Recorded leanly: the one file the agent changed, never the installed skill or .mcp.json; the two skill arms
    # wrote the same bytes, stored once.
    for arm in ("baseline", "skill", "skill+mcp"):
        changes = json.loads((out / f"tiny-task/{arm}/1/changes.json").read_text())
        assert list(changes["files"]) == ["app/main.py"], arm
        assert not (out / f"tiny-task/{arm}/1/files").exists()
    assert len(list((out / "blobs").iterdir())) == 2
    report = build_report(out)
    assert report["uplift"]["skill"]["mean"] == 1.0
    assert report["usage"]["skill"]["skill_used"] == 1
    assert report["usage"]["baseline"]["skill_used"] == 0


def test_skill_mcp_arm_workspace_starts_our_mcp_server(tiny_task: Task, tmp_path: Path) -> None:
    workspace = prepare_workspace(tiny_task, "skill+mcp", tmp_path)
    config = json.loads((workspace.repo / ".mcp.json").read_text())
    server = config["mcpServers"]["production-fastapi"]
    assert server["args"] == ["-m", "production_fastapi", "mcp"]
    assert (workspace.repo / ".agents/skills/production-fastapi/SKILL.md").is_file()
    assert workspace.prompt_file.parent == tmp_path
    baseline = prepare_workspace(tiny_task, "baseline", tmp_path / "b")
    assert not (baseline.repo / ".claude").exists()
    assert not (baseline.repo / ".mcp.json").exists()


def test_failing_command_is_an_agent_error_not_a_failed_check(tiny_task: Task, tmp_path: Path) -> None:
    agent = CommandAgent("echo 'Not logged in' >&2; exit 3 # {prompt_file}")
    records = run_eval([tiny_task], agent, ["baseline"], 1, tmp_path / "run")
    assert records[0]["infra_error"] == "agent: command exited with 3: Not logged in"
    assert records[0]["checks"] == {}
    report = build_report(tmp_path / "run")
    assert report["overall"]["baseline"]["infra_errors"] == 1
    assert report["overall"]["baseline"]["requested_all"]["trials"] == 0


def _scripted_model(tiny_oracle: str) -> tuple[httpx.MockTransport, list[dict[str, Any]]]:
    """A fake Messages API: reads the skill if the system prompt offers one, then writes the file and stops."""
    requests: list[dict[str, Any]] = []

    def reply(content: list[dict[str, Any]], stop: str) -> httpx.Response:
        return httpx.Response(200, json={
            "content": content, "stop_reason": stop, "usage": {"input_tokens": 500, "output_tokens": 80},
        })

    def handler(request: httpx.Request) -> httpx.Response:
        assert request.headers["x-api-key"] == "test-key"
        body = json.loads(request.content)
        requests.append(body)
        offers_skill = "production-fastapi/SKILL.md" in body["system"]
        if len(body["messages"]) == 1 and offers_skill:
            return reply([{"type": "tool_use", "id": "t1", "name": "read_file",
                           "input": {"path": ".claude/skills/production-fastapi/SKILL.md"}}], "tool_use")
        if not any(m["role"] == "user" and isinstance(m["content"], list) and
                   any(b.get("tool_use_id") == "t2" for b in m["content"]) for m in body["messages"]):
            content = tiny_oracle if offers_skill else tiny_oracle.replace("app.add_middleware(ServedBy)\n", "")
            return reply([{"type": "tool_use", "id": "t2", "name": "write_file",
                           "input": {"path": "app/main.py", "content": content}}], "tool_use")
        return reply([{"type": "text", "text": "Added GET /pong."}], "end_turn")

    return httpx.MockTransport(handler), requests


def test_messages_agent_uses_the_skill_only_where_installed(tiny_task: Task, tmp_path: Path) -> None:
    transport, requests = _scripted_model(ORACLE_MAIN)
    agent = MessagesAgent(api_key="test-key", transport=transport)
    records = run_eval([tiny_task], agent, ["baseline", "skill"], 1, tmp_path / "run")
    by_arm = {record["arm"]: record for record in records}
    assert by_arm["baseline"]["checks"]["unrequested:test_served_by_header"] == "failed"
    assert by_arm["skill"]["checks"]["unrequested:test_served_by_header"] == "passed"
    assert by_arm["skill"]["usage"]["skill_used"]
    assert not by_arm["baseline"]["usage"]["skill_used"]
    assert by_arm["skill"]["usage"]["input_tokens"] == 1500
    # The model never saw the harness's own files or paths outside the workspace.
    assert all("_eval_checks" not in json.dumps(body) for body in requests)


def test_messages_agent_refuses_paths_outside_the_workspace(tiny_task: Task, tmp_path: Path) -> None:
    workspace = prepare_workspace(tiny_task, "baseline", tmp_path)
    agent = MessagesAgent(api_key="k")
    with pytest.raises(Exception, match="outside the repository"):
        agent._file_tool(workspace.repo, "read_file", {"path": "../prompt.md"})


def test_live_adapters_skip_with_a_reason_without_credentials(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("ANTHROPIC_API_KEY", "CLAUDE_CODE_OAUTH_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert ClaudeSDKAgent().unavailable() == (
        "no Claude credentials: set ANTHROPIC_API_KEY (or log in with `claude /login`)"
    )
    assert MessagesAgent().unavailable() == "ANTHROPIC_API_KEY is not set: the Messages API agent needs an API key"
    assert CommandAgent("no-such-agent-cli -p {prompt}").unavailable() == "'no-such-agent-cli' is not on PATH"


def test_command_template_without_the_prompt_is_a_usage_error(tmp_path: Path) -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "production_fastapi", "eval", "run", "--agent", "command", "--command", "echo hi",
         "--out", str(tmp_path)],
        capture_output=True, text=True, check=False,
    )
    assert completed.returncode == 2
    assert completed.stderr.strip() == (
        "production-fastapi eval: the command template must use {prompt_file} or {prompt} (and usually {workdir})"
    )
