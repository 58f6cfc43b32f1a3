"""The native Claude Code suite (evals/claude/) loads in the bundled CLI with zero case errors, offline."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from helpers import bundled_claude_cli, claude_cli_version

from production_fastapi.evals.paths import evals_root

REPO = evals_root().parent
CLI = bundled_claude_cli()
PLUGIN_FILES = (
    ".claude-plugin", "SKILL.md", "templates", "references", "commands", ".mcp.json", "LICENSE", "README.md",
)


def _slim_plugin(root: Path) -> Path:
    """The plugin's own files plus its eval suite and the starters the cases copy; the CLI refuses plugin folders
    with more than 20,000 entries, which a checkout with a virtual environment has."""
    plugin = root / "plugin"
    plugin.mkdir()
    for name in PLUGIN_FILES:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, plugin / name, ignore=shutil.ignore_patterns("__pycache__"))
        elif source.is_file():
            shutil.copy2(source, plugin / name)
    shutil.copytree(evals_root() / "claude", plugin / "evals" / "claude")
    for starter in evals_root().glob("tasks/*/starter"):
        shutil.copytree(starter, plugin / "evals" / "tasks" / starter.parent.name / "starter")
    return plugin


def _clean(temp: Path) -> None:
    # The CLI keeps failed runs' sandboxes with closed modes; reopen them before deleting.
    for path in temp.rglob("*"):
        if path.is_dir() and not path.is_symlink():
            path.chmod(0o700)
    shutil.rmtree(temp, ignore_errors=True)


@pytest.mark.skipif(CLI is None, reason="the Claude Code CLI bundled in claude-agent-sdk is not installed")
def test_every_case_loads_without_errors(tmp_path: Path) -> None:
    assert CLI is not None
    plugin = _slim_plugin(tmp_path)
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    env = {
        key: value for key, value in os.environ.items()
        if key not in ("ANTHROPIC_API_KEY", "CLAUDE_CODE_OAUTH_TOKEN", "ANTHROPIC_AUTH_TOKEN")
    }
    env.update(HOME=str(tmp_path / "home"), TMPDIR=str(scratch))
    (tmp_path / "home").mkdir()
    cases = sorted(p.parent.name for p in (evals_root() / "claude").glob("*/case.yaml"))
    cases += sorted(p.parent.name for p in (evals_root() / "claude").glob("*/prompt.md"))
    assert len(cases) >= 5
    outputs: dict[str, str] = {}
    try:
        # One case at a time: offline, the CLI stops the suite at the first run that cannot authenticate.
        for case in cases:
            completed = subprocess.run(
                [str(CLI), "plugin", "eval", str(plugin), "--case", case, "--trust-plugin", "--no-publish",
                 "--scaffold", "--allow-tools", "Write", "Edit", "--runs", "1", "--ablation", "none",
                 "--output-dir", str(tmp_path / "out" / case)],
                capture_output=True, text=True, env=env, timeout=120, check=False,
            )
            outputs[case] = completed.stdout + completed.stderr
    finally:
        _clean(scratch)
    for case, output in outputs.items():
        case_errors = [
            line for line in output.splitlines() if re.match(r"\s*✗ /", line) or "grader threw: Invalid" in line
        ]
        assert case_errors == [], f"{claude_cli_version(CLI)}, case {case}:\n{output[-3000:]}"
        assert "Couldn't load" not in output, output[-3000:]
        assert re.search(rf"^{re.escape(case)}\s", output, re.MULTILINE), f"case {case} missing:\n{output[-2000:]}"
        assert "1 case(s)" in output
        # Offline a run stops at authentication, never at a case or scaffold problem.
        assert "Not logged in" in output, output[-2000:]
        assert "scaffold failed" not in output.lower()
