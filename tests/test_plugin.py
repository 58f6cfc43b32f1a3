"""The repository as a Claude Code plugin: manifests, the command, the launcher, and a real Claude Code CLI.

The CLI ships inside the claude-agent-sdk wheel (a dev dependency) and works offline for what these tests do:
validate the plugin, install it from a local marketplace, list what it provides and handshake with MCP servers.
HOME points at a temporary folder, so nothing of the machine's own configuration is read or written.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from types import ModuleType

import pytest
from helpers import bundled_claude_cli, claude_cli_version

REPO = Path(__file__).resolve().parent.parent
MANIFEST = REPO / ".claude-plugin" / "plugin.json"
MARKETPLACE = REPO / ".claude-plugin" / "marketplace.json"
MCP_CONFIG = REPO / ".mcp.json"
COMMAND = REPO / "commands" / "production.md"
LAUNCHER = REPO / ".claude-plugin" / "launch_mcp.py"
PLUGIN = "production-fastapi"


def load_json(path: Path) -> dict[str, object]:
    data = json.loads(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def project_version() -> str:
    return str(tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"])


def frontmatter(path: Path) -> tuple[dict[str, str], str]:
    text = path.read_text(encoding="utf-8")
    match = re.match(r"---\n(.*?)\n---\n(.*)", text, re.DOTALL)
    assert match, f"{path.name} has no frontmatter"
    # Top-level "key: value" lines are all these tests read (nested maps such as metadata are skipped).
    pairs = (line.split(": ", 1) for line in match.group(1).splitlines() if not line.startswith(" "))
    fields = {key: value.strip('"') for key, value in (pair for pair in pairs if len(pair) == 2)}
    return fields, match.group(2)


# --- manifests -----------------------------------------------------------------------------------------------------


def test_plugin_manifest_has_the_catalog_fields_and_our_version() -> None:
    manifest = load_json(MANIFEST)
    assert manifest["name"] == PLUGIN
    assert manifest["version"] == project_version()
    assert isinstance(manifest["description"], str)
    assert len(manifest["description"]) > 40
    author = manifest["author"]
    assert isinstance(author, dict)
    assert author["name"]
    assert manifest["license"] == "MIT"
    assert str(manifest["repository"]).startswith("https://")
    keywords = manifest["keywords"]
    assert isinstance(keywords, list)
    assert "fastapi" in keywords


def test_every_path_the_manifests_name_exists() -> None:
    manifest = load_json(MANIFEST)
    skills = REPO / str(manifest["skills"])
    assert (skills / "SKILL.md").is_file()  # the one SKILL.md at the root, not a copy
    assert (REPO / str(manifest["commands"]) / "production.md").is_file()
    assert (REPO / str(manifest["mcpServers"])).resolve() == MCP_CONFIG
    assert (REPO / ".claude-plugin" / "icon.png").read_bytes().startswith(b"\x89PNG")
    marketplace = load_json(MARKETPLACE)
    plugins = marketplace["plugins"]
    assert isinstance(plugins, list)
    assert [p["name"] for p in plugins] == [PLUGIN]
    assert (REPO / plugins[0]["source"] / ".claude-plugin" / "plugin.json").resolve() == MANIFEST
    assert plugins[0]["version"] == manifest["version"]
    servers = load_json(MCP_CONFIG)["mcpServers"]
    assert isinstance(servers, dict)
    assert list(servers) == [PLUGIN]
    args = [arg.replace("${CLAUDE_PLUGIN_ROOT}", str(REPO)) for arg in servers[PLUGIN]["args"]]
    assert Path(args[0]) == LAUNCHER
    assert LAUNCHER.is_file()


def test_the_skill_the_plugin_exposes_is_ours() -> None:
    fields, _ = frontmatter(REPO / "SKILL.md")
    assert fields["name"] == PLUGIN


def test_production_command_takes_the_stack_and_explains_others() -> None:
    fields, body = frontmatter(COMMAND)
    assert fields["argument-hint"] == "fastapi"
    assert fields["description"]
    assert "$ARGUMENTS" in body
    for step in ("review_project", "get_template", "Add without asking", "Ask first", "FastAPI"):
        assert step in body
    assert "production-fastapi review" in body  # the fallback when the MCP tools are not there


# --- the launcher --------------------------------------------------------------------------------------------------


def plugin_copy(dest: Path) -> Path:
    """The plugin as a marketplace would fetch it: the repository without ignored files (no .venv, no caches)."""
    patterns = [
        line.strip().rstrip("/")
        for line in (REPO / ".gitignore").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    shutil.copytree(REPO, dest, ignore=shutil.ignore_patterns(".git", *patterns), symlinks=True)
    return dest


def load_launcher(root: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location("launch_mcp_under_test", root / ".claude-plugin" / "launch_mcp.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_launcher_prefers_an_installed_package_of_the_plugins_version(tmp_path: Path) -> None:
    launcher = load_launcher(plugin_copy(tmp_path / "plugin"))
    assert launcher.installed_version() == launcher.plugin_version()
    assert launcher.command(["--allow", "x"], path="") == [
        sys.executable,
        "-m",
        "production_fastapi",
        "mcp",
        "--allow",
        "x",
    ]


def test_launcher_uses_a_checkout_venv_first(tmp_path: Path) -> None:
    root = plugin_copy(tmp_path / "plugin")
    script = root / ".venv" / "bin" / PLUGIN
    script.parent.mkdir(parents=True)
    script.write_text("#!/bin/sh\n")
    script.chmod(0o755)
    assert load_launcher(root).command([], path="") == [str(script), "mcp"]


def test_launcher_without_package_or_uv_says_what_to_install(tmp_path: Path) -> None:
    root = plugin_copy(tmp_path / "plugin")
    # -S: no site-packages, so production-fastapi is not installed for this interpreter; PATH has no uvx.
    result = subprocess.run(
        [sys.executable, "-S", str(root / ".claude-plugin" / "launch_mcp.py")],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": str(tmp_path / "empty-bin"), "HOME": str(tmp_path)},
        check=False,
    )
    assert result.returncode == 1
    assert result.stdout == ""
    assert "cannot start the MCP server: install uv" in result.stderr
    # Followed literally, the advice works before any PyPI release: it installs the plugin's own source.
    assert f"-m pip install {root}" in result.stderr


@pytest.mark.skipif(os.name == "nt", reason="POSIX executables")
def test_launcher_falls_back_to_uvx_from_the_plugin_folder(tmp_path: Path) -> None:
    root = plugin_copy(tmp_path / "plugin")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    uvx = bin_dir / "uvx"
    uvx.write_text("#!/bin/sh\n")
    uvx.chmod(0o755)
    # -S: an interpreter without production-fastapi, so the launcher must pick uvx (listed, not run).
    probe = f"import sys; sys.path.insert(0, {str(root / '.claude-plugin')!r}); import launch_mcp, json; "
    probe += f"print(json.dumps(launch_mcp.command(['--allow', '.'], path={str(bin_dir)!r})))"
    result = subprocess.run([sys.executable, "-S", "-c", probe], capture_output=True, text=True, timeout=60, check=True)
    assert json.loads(result.stdout) == [str(uvx), "--from", str(root), PLUGIN, "mcp", "--allow", "."]


# --- the real Claude Code CLI --------------------------------------------------------------------------------------


class ClaudeCLI:
    """The bundled CLI run with a throwaway HOME from a throwaway folder; ``version`` names it in failure messages."""

    def __init__(self, binary: Path, home: Path, work: Path) -> None:
        self.binary = binary
        self.work = work
        self.version = claude_cli_version(binary)
        self.env = {
            **os.environ,
            "HOME": str(home),
            # python3 for the plugin's launcher: this interpreter's environment, which has production-fastapi.
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
            "DISABLE_AUTOUPDATER": "1",
            "DISABLE_TELEMETRY": "1",
            "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
            "MCP_TIMEOUT": "60000",
        }
        for variable in ("ANTHROPIC_API_KEY", "CLAUDE_CODE_OAUTH_TOKEN", "CLAUDE_CONFIG_DIR"):
            self.env.pop(variable, None)

    def __call__(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.binary), *args],
            capture_output=True,
            text=True,
            timeout=120,
            env=self.env,
            cwd=self.work,
            check=False,
        )

    def explain(self, result: subprocess.CompletedProcess[str]) -> str:
        return f"{self.version}, `claude {' '.join(result.args[1:])}`:\n{result.stdout}{result.stderr}"


def trust_folder(home: Path, folder: Path) -> None:
    """Record ``folder`` as trusted the way the CLI does when its trust dialog is accepted.

    From Claude Code 2.1.337 on, ``claude mcp list`` checks MCP servers only in a trusted folder and answers "Not
    checked (folder not trusted)" elsewhere; the CLI keeps that answer per folder in ``$HOME/.claude.json`` under
    ``projects.<absolute folder>.hasTrustDialogAccepted``. Older CLIs ignore the key.
    """
    config = {"projects": {str(folder.resolve()): {"hasTrustDialogAccepted": True}}}
    (home / ".claude.json").write_text(json.dumps(config), encoding="utf-8")


@pytest.fixture
def claude(tmp_path: Path) -> ClaudeCLI:
    binary = bundled_claude_cli()
    if binary is None:
        pytest.skip("the Claude Code CLI bundled with claude-agent-sdk is missing (pip install -e '.[dev]' brings it)")
    home = tmp_path / "home"
    home.mkdir()
    work = tmp_path / "work"
    work.mkdir()
    trust_folder(home, work)
    return ClaudeCLI(binary, home, work)


def test_the_cli_the_tests_drive_is_pinned() -> None:
    """A new CLI release must never turn CI red on its own: the dev extra bounds claude-agent-sdk (which bundles the
    CLI) above by a release these tests were run with, and the installed one lies in that range."""
    from importlib.metadata import version

    from packaging.requirements import Requirement

    dev = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]["optional-dependencies"]
    pins = [Requirement(line) for line in dev["dev"] if line.startswith("claude-agent-sdk")]
    assert len(pins) == 1, dev["dev"]
    upper = [spec for spec in pins[0].specifier if spec.operator in ("<=", "==", "<")]
    assert upper, f"{pins[0]} has no upper bound"
    for spec in upper:
        if spec.operator == "<":  # "<X.Y.Z" must exclude just the next patch, not a whole minor series
            assert spec.version.count(".") == 2, spec
    assert version("claude-agent-sdk") in pins[0].specifier


@pytest.mark.timeout(300)
@pytest.mark.parametrize("profile", [[], ["--profile", "directory"]], ids=["strict", "strict-directory"])
def test_claude_validates_the_plugin_without_warnings(claude: ClaudeCLI, profile: list[str], tmp_path: Path) -> None:
    root = plugin_copy(tmp_path / "plugin")
    for target in (root, root / ".claude-plugin" / "plugin.json"):
        result = claude("plugin", "validate", "--strict", *profile, str(target))
        output = result.stdout + result.stderr
        why = claude.explain(result)
        assert result.returncode == 0, why
        assert "Validation passed" in output, why
        assert "⚠" not in output, why
        assert "✘" not in output, why
        assert f"skills: {PLUGIN}:{PLUGIN}" in output, why
        assert f"commands: {PLUGIN}:production" in output, why
        assert f"mcpServers: {PLUGIN} stdio python3" in output, why


@pytest.mark.timeout(300)
def test_claude_installs_the_plugin_and_connects_to_both_servers(claude: ClaudeCLI, tmp_path: Path) -> None:
    root = plugin_copy(tmp_path / "plugin")
    added = claude("plugin", "marketplace", "add", str(root))
    assert added.returncode == 0, claude.explain(added)
    installed = claude("plugin", "install", f"{PLUGIN}@{PLUGIN}")
    assert installed.returncode == 0, claude.explain(installed)

    details = claude("plugin", "details", PLUGIN)
    assert details.returncode == 0, claude.explain(details)
    skills = re.search(r"Skills \(\d+\)\s+(.*)", details.stdout)
    servers = re.search(r"MCP servers \(\d+\)\s+(.*)", details.stdout)
    assert skills, claude.explain(details)
    assert servers, claude.explain(details)
    assert {"production", PLUGIN} <= {name.strip() for name in skills.group(1).split(",")}  # command and skill
    assert servers.group(1).split()[0] == PLUGIN

    script = Path(sys.executable).parent / PLUGIN
    mcp_added = claude("mcp", "add", "-s", "user", "pf-direct", "--", str(script), "mcp")
    assert mcp_added.returncode == 0, claude.explain(mcp_added)
    listed = claude("mcp", "list")
    lines = listed.stdout.splitlines()
    direct = [line for line in lines if line.startswith("pf-direct:")]
    from_plugin = [line for line in lines if line.startswith(f"plugin:{PLUGIN}:{PLUGIN}:")]
    assert direct, claude.explain(listed)
    assert from_plugin, claude.explain(listed)
    assert "Connected" in direct[0], claude.explain(listed)
    assert "Connected" in from_plugin[0], claude.explain(listed)
    assert "launch_mcp.py" in from_plugin[0]  # the plugin's own launcher, from the installed copy
