"""The agent protocol: trials run by any capable agent, with no agent CLI or API key in the harness.

``prepare`` makes a scratch project for one (task, arm) and writes the brief that agent gets; the agent works there;
``record`` turns the finished folder into a lean trial of a run folder, graded like any other. The brief holds only
what an agent in that arm would see: the task's request, where to work and with which interpreter, and for skill
arms the skill's listing (and the MCP server's instructions and a client for it). Hidden tests, the oracle, the bad
variants, the checks and the task's rules never reach it.
"""

from __future__ import annotations

import json
import shutil
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from production_fastapi.evals.agents import AgentRun
from production_fastapi.evals.arms import AGENT_FILES, ARMS
from production_fastapi.evals.runner import grade_trial, write_trial
from production_fastapi.evals.tasks import Task, copy_tree
from production_fastapi.evals.transcripts import read_transcript

__all__ = ["CLIENT_SCRIPT", "EXTRA_PACKAGES", "Prepared", "brief", "prepare", "record"]

CLIENT_SCRIPT = ".mcp_client.py"
EXTRA_PACKAGES = ".pydeps"
# What an arm or the agent's tooling adds to the scratch folder and the recorder leaves out (besides caches).
HARNESS_FILES = frozenset({*AGENT_FILES, CLIENT_SCRIPT, EXTRA_PACKAGES})


@dataclass(frozen=True, slots=True)
class Prepared:
    task: Task
    arm: str
    project: Path
    brief: str


def _outside_checkout(dest: Path) -> None:
    from production_fastapi.evals.paths import evals_root

    checkout = evals_root().parent.resolve()
    if dest == checkout or checkout in dest.parents:
        raise ValueError(f"{dest} lies inside the repository {checkout}: an agent there could read the hidden tests")


def prepare(task: Task, arm: str, dest: Path) -> Prepared:
    """A fresh scratch project for one trial in ``dest`` (new or empty), and the brief for the agent."""
    if arm not in ARMS:
        raise ValueError(f"unknown arm {arm!r}; choose from {', '.join(ARMS)}")
    dest = dest.resolve()
    _outside_checkout(dest)
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise ValueError(f"{dest} exists and is not an empty folder: every trial starts from a fresh copy")
    dest.mkdir(parents=True, exist_ok=True)
    copy_tree(task.starter, dest)
    if arm != "baseline":
        from production_fastapi.install import destination, install

        install(destination("project", "claude", dest))
    if arm == "skill+mcp":
        shutil.copy2(Path(__file__).with_name("mcp_client.py"), dest / CLIENT_SCRIPT)
    return Prepared(task=task, arm=arm, project=dest, brief=brief(task, arm, dest))


def _skill_listing(project: Path) -> str:
    from production_fastapi import bundle
    from production_fastapi.install import SKILL_NAME, destination

    description = ""
    for line in bundle.skill_md().read_text(encoding="utf-8").splitlines():
        if line.startswith("description:"):
            description = line.partition(":")[2].strip().strip('"')
    location = destination("project", "claude", project) / "SKILL.md"
    return (
        "## Skills\n\n"
        "These skills are available. A skill is a folder of instructions and files; when one is relevant to what you\n"
        "are doing, read its SKILL.md first and follow it.\n\n"
        f"- name: {SKILL_NAME}\n  description: {description}\n  location: {location}\n"
    )


def _mcp_section(project: Path) -> str:
    from production_fastapi.mcp.guidance import INSTRUCTIONS

    client = project / CLIENT_SCRIPT
    return (
        "## MCP server `production-fastapi`\n\n"
        "An MCP server is connected. Its instructions:\n\n"
        + "\n".join(f"> {line}" for line in INSTRUCTIONS.splitlines())
        + "\n\nCall it through the client script (it starts the server over stdio with this project as its only\n"
        "allowed directory; paths are relative to the project):\n\n"
        f"    {sys.executable} {client} list                          # tools, descriptions, input schemas\n"
        f"    {sys.executable} {client} call TOOL '{{\"arg\": \"value\"}}'   # call one tool with JSON arguments\n"
        f"    {sys.executable} {client} resources                     # resources: URIs and descriptions\n"
        f"    {sys.executable} {client} read URI                      # one resource's text\n"
    )


def brief(task: Task, arm: str, project: Path) -> str:
    """What the agent of one trial is told: the request, the rules of the sandbox, and what its arm offers."""
    python = sys.executable
    parts = [
        "# Your task\n\n"
        "A user asks you, in their repository:\n\n"
        + "\n".join(f"> {line}" if line else ">" for line in task.instruction.rstrip().splitlines())
        + "\n\nDo the work in the repository and finish with a short summary of what you changed.\n",
        "## Where and how to work\n\n"
        f"- The repository is `{project}`. Read and write only inside it; do not look anywhere else on this\n"
        "  machine, and do not use other projects, notes or earlier work as a source.\n"
        f"- Use the interpreter `{python}` (it has the project's dependencies, pytest and httpx); run the\n"
        f"  project's tests from the repository with `{python} -m pytest -q`.\n"
        f"- To install an extra package, put it inside the repository: `{python} -m pip install --target\n"
        f"  {project / EXTRA_PACKAGES} PACKAGE`, and run with `PYTHONPATH={project / EXTRA_PACKAGES}`. Declare any\n"
        "  dependency your code needs in pyproject.toml.\n",
    ]
    if arm != "baseline":
        parts.append(_skill_listing(project))
    if arm == "skill+mcp":
        parts.append(_mcp_section(project))
    return "\n".join(parts)


def _transcript(path: Path | None) -> list[dict[str, Any]]:
    """The agent's transcript: JSON Lines as they are, or plain text (a closing summary) as one assistant text."""
    if path is None:
        return []
    events = read_transcript(path)
    if events:
        return events
    text = path.read_text(encoding="utf-8").strip()
    return [{"type": "assistant", "message": {"content": [{"type": "text", "text": text}]}}] if text else []


def record(
    task: Task,
    arm: str,
    trial: int,
    project: Path,
    run: Path,
    *,
    transcript: Path | None = None,
    seconds: float | None = None,
    tokens: int | None = None,
    agent: str = "agent-protocol",
    model: str | None = None,
) -> dict[str, Any]:
    """Grade the finished scratch ``project`` as trial ``trial`` of ``task`` in ``arm`` and store it in ``run``."""
    if arm not in ARMS:
        raise ValueError(f"unknown arm {arm!r}; choose from {', '.join(ARMS)}")
    if trial < 1:
        raise ValueError("--trial counts from 1")
    if not project.is_dir():
        raise ValueError(f"{project} is not a folder")
    if tokens is not None and tokens < 0:
        raise ValueError("--tokens cannot be negative")
    import tempfile

    agent_run = AgentRun(events=_transcript(transcript), seconds=seconds, model=model, tokens=tokens)
    with tempfile.TemporaryDirectory(prefix=f"pf-record-{task.id}-") as temp:
        # Grade exactly what will be stored: the agent's files without the harness's additions.
        files = Path(temp) / "repo"
        files.mkdir()
        copy_tree(project, files)
        for name in HARNESS_FILES:
            target = files / name
            if target.is_dir():
                shutil.rmtree(target)
            elif target.exists():
                target.unlink()
        result = grade_trial(task, arm, trial, files, agent_run, agent_name=agent)
        write_trial(run, task, files, agent_run, result)
    _update_run_meta(run, task.id, arm, trial, agent)
    return result


def _update_run_meta(run: Path, task: str, arm: str, trial: int, agent: str) -> None:
    """Add the trial to ``run.json``; locked, since several agents' trials may be recorded into one run at once."""
    import fcntl
    import os

    run.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(run / "run.json", os.O_RDWR | os.O_CREAT, 0o644)
    with os.fdopen(descriptor, "r+", encoding="utf-8") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        text = handle.read()
        meta: dict[str, Any] = json.loads(text) if text.strip() else {
            "agent": agent, "arms": [], "trials": 0, "tasks": [],
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
            "note": "Trials run by independent agents under the agent protocol (evals/README.md).",
        }
        meta["arms"] = [a for a in ARMS if a in {*meta.get("arms", []), arm}]
        meta["tasks"] = sorted({*meta.get("tasks", []), task})
        meta["trials"] = max(int(meta.get("trials", 0)), trial)
        handle.seek(0)
        handle.truncate()
        handle.write(json.dumps(meta, indent=2, sort_keys=True) + "\n")
    # A stale report would disagree with the trials now stored.
    for name in ("report.json", "report.md"):
        (run / name).unlink(missing_ok=True)
