"""The agent protocol end to end, through the CLI a user runs: prepare a scratch project per arm, let a scripted
stand-in for the agent edit it (the test plays the agent's file edits only), record it leanly, then grade it again
with `eval run --agent replay` and `eval report`. The skill+mcp arm's client talks to the real server over stdio."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from pf_evals_helpers import ORACLE_MAIN, build_tiny_task

from production_fastapi.evals.paths import evals_root, tasks_root
from production_fastapi.evals.protocol import CLIENT_SCRIPT, brief, prepare
from production_fastapi.evals.tasks import load_task
from production_fastapi.mcp.guidance import INSTRUCTIONS


@pytest.fixture
def evals_dir(tmp_path: Path) -> Path:
    """A checkout-like evals/ folder holding the real support files and the tiny task."""
    evals = tmp_path / "checkout" / "evals"
    shutil.copytree(evals_root() / "support", evals / "support")
    build_tiny_task(evals / "tasks")
    return evals


def _eval(evals: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    completed = subprocess.run(
        [sys.executable, "-m", "production_fastapi", "eval", "--evals-dir", str(evals), *args],
        capture_output=True, text=True, check=False, timeout=300,
    )
    if check:
        assert completed.returncode == 0, completed.stderr
    return completed


def test_prepare_record_replay_report(evals_dir: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    scratch = {arm: tmp_path / "scratch" / arm for arm in ("baseline", "skill")}
    briefs = {
        arm: _eval(evals_dir, "prepare", "--task", "tiny-task", "--arm", arm, "--dest", str(dest)).stdout
        for arm, dest in scratch.items()
    }
    for arm, text in briefs.items():
        assert "> Add GET /pong." in text
        assert f"The repository is `{scratch[arm]}`" in text
        assert sys.executable in text
        assert str(scratch[arm] / ".pydeps") in text
        # Nothing of the grader: hidden checks, the oracle, the bad variants.
        for secret in ("served_by", "x-served-by", "ServedBy", "no-header", "variant", "oracle", "unrequested"):
            assert secret.lower() not in text.lower(), (arm, secret)
    assert "## Skills" not in briefs["baseline"]
    assert not (scratch["baseline"] / ".claude").exists()
    skill_md = scratch["skill"] / ".claude/skills/production-fastapi/SKILL.md"
    assert skill_md.is_file()
    assert "- name: production-fastapi\n  description: Production hardening for FastAPI" in briefs["skill"]
    assert f"location: {skill_md}" in briefs["skill"]
    assert "MCP" not in briefs["skill"]

    # The stand-in agent: the baseline adds the endpoint; the skill arm also tags responses. Both leave the debris a
    # real agent leaves (a venv, caches, packages installed where the brief says).
    main = scratch["baseline"] / "app/main.py"
    main.write_text(main.read_text() + '\n\n@app.get("/pong")\nasync def pong() -> dict[str, str]:\n    return {}\n')
    (scratch["skill"] / "app/main.py").write_text(ORACLE_MAIN)
    for dest in scratch.values():
        for debris in (".venv/bin/python", "app/__pycache__/main.cpython-311.pyc", ".pydeps/extra/__init__.py",
                       ".coverage", ".pytest_cache/v/x"):
            (dest / debris).parent.mkdir(parents=True, exist_ok=True)
            (dest / debris).write_text("debris")
    summary = tmp_path / "summary.txt"
    summary.write_text("Added GET /pong and an X-Served-By header.\n")
    stream = tmp_path / "transcript.jsonl"
    stream.write_text(json.dumps({"type": "assistant", "message": {"content": [
        {"type": "tool_use", "name": "Read", "input": {"file_path": str(skill_md)}}]}}) + "\n")
    _eval(evals_dir, "record", "--task", "tiny-task", "--arm", "baseline", "--trial", "1",
          "--from", str(scratch["baseline"]), "--run", str(run), "--transcript", str(summary), "--wall-seconds", "42")
    recorded = _eval(evals_dir, "record", "--task", "tiny-task", "--arm", "skill", "--trial", "1",
                     "--from", str(scratch["skill"]), "--run", str(run), "--transcript", str(stream),
                     "--tokens", "1234", "--agent-name", "helper-agents")
    assert recorded.stdout.startswith("tiny-task [skill #1]: 3/3 checks passed -> ")

    # Lean: only the agent's one changed file, no debris, no installed skill; one blob per distinct file.
    for arm in scratch:
        changes = json.loads((run / f"tiny-task/{arm}/1/changes.json").read_text())
        assert list(changes["files"]) == ["app/main.py"], arm
        assert changes["deleted"] == []
    assert len(list((run / "blobs").iterdir())) == 2
    baseline = json.loads((run / "tiny-task/baseline/1/result.json").read_text())
    assert baseline["seconds_agent"] == 42
    assert baseline["checks"]["unrequested:test_served_by_header"] == "failed"
    transcript = (run / "tiny-task/baseline/1/transcript.jsonl").read_text()
    assert "Added GET /pong" in json.loads(transcript)["message"]["content"][0]["text"]
    meta = json.loads((run / "run.json").read_text())
    assert (meta["agent"], meta["arms"], meta["tasks"], meta["trials"]) == (
        "agent-protocol", ["baseline", "skill"], ["tiny-task"], 1
    )

    _eval(evals_dir, "report", str(run))
    report = json.loads((run / "report.json").read_text())
    assert report["uplift"]["skill"]["mean"] == 1.0
    assert report["usage"]["skill"]["skill_used"] == 1
    assert report["usage"]["skill"]["mean_total_tokens"] == 1234
    assert report["usage"]["baseline"]["mean_seconds"] == 42

    out = tmp_path / "replay"
    _eval(evals_dir, "run", "--agent", "replay", "--from", str(run), "--task", "tiny-task", "--arm", "baseline",
          "--arm", "skill", "--trials", "1", "--out", str(out))
    for arm in scratch:
        before = json.loads((run / f"tiny-task/{arm}/1/result.json").read_text())
        after = json.loads((out / f"tiny-task/{arm}/1/result.json").read_text())
        assert after["checks"] == before["checks"]
        assert after["tokens"] == before["tokens"]


def test_skill_mcp_arm_gets_a_client_for_the_real_server(evals_dir: Path, tmp_path: Path) -> None:
    dest = tmp_path / "scratch"
    text = _eval(evals_dir, "prepare", "--task", "tiny-task", "--arm", "skill+mcp", "--dest", str(dest),
                 "--brief", str(tmp_path / "brief.md")).stdout
    assert (tmp_path / "brief.md").read_text() + "\n" == text
    assert "## Skills" in text
    assert "> " + INSTRUCTIONS.splitlines()[0] in text
    assert f"{sys.executable} {dest / CLIENT_SCRIPT} list" in text

    def client(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, str(dest / CLIENT_SCRIPT), *args], capture_output=True, text=True,
                              check=False, timeout=120, cwd=tmp_path)

    listed = client("list")
    assert listed.returncode == 0, listed.stderr
    assert "## review_file\nCheck one FastAPI file" in listed.stdout
    assert '"required": [\n    "name"\n  ]' in listed.stdout  # get_template's input schema
    reviewed = client("call", "review_file", json.dumps({"path": "app/main.py"}))
    assert reviewed.returncode == 0, reviewed.stderr
    assert "1 file" in reviewed.stdout
    outside = client("call", "review_file", json.dumps({"path": str(tmp_path / "brief.md")}))
    assert outside.returncode == 1
    assert client("call", "review_file", "{not json").returncode == 2
    assert client("call", "review_file").returncode == 2
    skill = client("read", "production-fastapi://skill")
    assert skill.returncode == 0, skill.stderr
    assert skill.stdout.startswith("---\nname: production-fastapi")
    assert "production-fastapi://skill" in client("resources").stdout

    run = tmp_path / "run"
    _eval(evals_dir, "record", "--task", "tiny-task", "--arm", "skill+mcp", "--trial", "2", "--from", str(dest),
          "--run", str(run))
    changes = json.loads((run / "tiny-task/skill+mcp/2/changes.json").read_text())
    assert changes["files"] == {}
    assert changes["deleted"] == []


def test_the_brief_of_a_real_task_gives_nothing_of_the_grader_away(tmp_path: Path) -> None:
    task = load_task(tasks_root() / "launch-ready")
    prepared = prepare(task, "skill+mcp", tmp_path / "scratch")
    text = prepared.brief
    assert text == brief(task, "skill+mcp", prepared.project)
    hidden = {line.split("(")[0].removeprefix("def ").removeprefix("async def ")
              for path in task.hidden_tests.glob("*.py") for line in path.read_text().splitlines()
              if line.lstrip().startswith(("def test_", "async def test_"))}
    assert hidden
    # The server's instructions are what every MCP client sees, the same for every task: they may name rule codes
    # as examples. Everything else in the brief must not.
    from production_fastapi.mcp.guidance import INSTRUCTIONS

    quoted = "\n".join(f"> {line}".rstrip() for line in INSTRUCTIONS.strip().splitlines())
    assert quoted in text
    own = text.replace(quoted, "")
    for secret in (*hidden, *task.rules, *(variant.name for variant in task.bad), "variant", "hidden", "oracle",
                   "unrequested", "evals/tasks"):
        assert secret not in own, secret


def test_bad_protocol_input_is_refused_in_one_line(evals_dir: Path, tmp_path: Path) -> None:
    inside = _eval(evals_dir, "prepare", "--task", "tiny-task", "--arm", "skill",
                   "--dest", str(evals_dir.parent / "scratch"), check=False)
    assert inside.returncode == 2
    assert "lies inside the repository" in inside.stderr
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "x").write_text("x")
    taken = _eval(evals_dir, "prepare", "--task", "tiny-task", "--arm", "skill", "--dest", str(busy), check=False)
    assert taken.stderr.strip() == (
        f"production-fastapi eval: {busy} exists and is not an empty folder: every trial starts from a fresh copy"
    )
    zero = _eval(evals_dir, "record", "--task", "tiny-task", "--arm", "skill", "--trial", "0", "--from", str(busy),
                 "--run", str(tmp_path / "run"), check=False)
    assert zero.stderr.strip() == "production-fastapi eval: --trial counts from 1"
    unknown = _eval(evals_dir, "prepare", "--task", "nope", "--arm", "skill", "--dest", str(tmp_path / "n"),
                    check=False)
    assert "unknown task nope; known: tiny-task" in unknown.stderr


def test_trials_recorded_at_once_all_reach_run_json(tmp_path: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from production_fastapi.evals.protocol import _update_run_meta

    run = tmp_path / "run"
    run.mkdir()
    (run / "report.md").write_text("stale")
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda i: _update_run_meta(run, f"task-{i:02d}", "skill", i % 3 + 1, "a"), range(40)))
    meta = json.loads((run / "run.json").read_text())
    assert meta["tasks"] == [f"task-{i:02d}" for i in range(40)]
    assert (meta["arms"], meta["trials"]) == (["skill"], 3)
    assert not (run / "report.md").exists()
