"""scripts/production-fastapi, the launcher `production-fastapi install` puts inside the skill folder: run for real
from an installed skill in a temporary project, with the CLI on PATH, with only uvx or pipx, and with nothing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from production_fastapi.install import INSTALLED_BY, destination, install

CLI = Path(sys.executable).parent / "production-fastapi"
LEAKY = """import httpx


async def fetch() -> None:
    async with httpx.AsyncClient(timeout=None) as client:
        await client.get("https://example.com")
"""


@pytest.fixture
def skill(tmp_path: Path) -> Path:
    target = destination("project", "claude", tmp_path / "project")
    assert install(target) == "installed"
    return target


def run_launcher(skill: Path, args: list[str], *, path: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    # -S: an interpreter that cannot import production_fastapi, as on a machine where only the skill was copied.
    return subprocess.run(
        [sys.executable, "-S", str(skill / "scripts" / "production-fastapi"), *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
        env={"PATH": path, "HOME": str(cwd)},
        check=False,
    )


def fake_tool(folder: Path, name: str) -> Path:
    """An executable that prints how it was called, standing in for uvx or pipx (no network in tests)."""
    folder.mkdir(exist_ok=True)
    tool = folder / name
    tool.write_text('#!/bin/sh\necho "$0 $*"\n', encoding="utf-8")
    tool.chmod(0o755)
    return tool


def test_install_ships_the_launcher_and_only_it(skill: Path) -> None:
    assert sorted(p.name for p in (skill / "scripts").iterdir()) == [INSTALLED_BY, "production-fastapi"]
    assert os.access(skill / "scripts" / "production-fastapi", os.X_OK)
    assert (skill / "scripts" / INSTALLED_BY).read_text(encoding="utf-8") == sys.executable + "\n"


def forget_the_installer(skill: Path) -> None:
    """As on a machine where the virtual environment that ran ``install`` is gone."""
    (skill / "scripts" / INSTALLED_BY).unlink()


@pytest.mark.skipif(os.name == "nt", reason="POSIX executables")
def test_launcher_runs_the_cli_through_the_python_that_installed_the_skill(skill: Path, tmp_path: Path) -> None:
    # Nothing on PATH and an interpreter that cannot import the package: the installer's Python still can.
    (tmp_path / "leaky.py").write_text(LEAKY, encoding="utf-8")
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    result = run_launcher(skill, ["review", "--no-cache", "leaky.py"], path=str(empty), cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    assert "PF706" in result.stdout


@pytest.mark.skipif(os.name == "nt", reason="POSIX executables")
def test_launcher_runs_the_installed_cli_and_passes_its_exit_status(skill: Path, tmp_path: Path) -> None:
    assert CLI.is_file(), "the development install provides the console script"
    project = skill.parent.parent.parent
    (project / "app").mkdir()
    (project / "app" / "client.py").write_text(LEAKY, encoding="utf-8")
    result = run_launcher(skill, ["review", "app/"], path=str(CLI.parent), cwd=project)
    assert result.returncode == 1, result.stderr  # findings
    assert "PF706" in result.stdout
    (project / "app" / "client.py").write_text("VALUE = 1\n", encoding="utf-8")
    clean = run_launcher(skill, ["review", "app/"], path=str(CLI.parent), cwd=project)
    assert clean.returncode == 0, clean.stdout + clean.stderr


@pytest.mark.skipif(os.name == "nt", reason="POSIX executables")
def test_launcher_falls_back_to_uvx_then_pipx_from_the_repository(skill: Path, tmp_path: Path) -> None:
    forget_the_installer(skill)
    tools = tmp_path / "tools"
    pipx = fake_tool(tools, "pipx")
    result = run_launcher(skill, ["review", "."], path=str(tools), cwd=tmp_path)
    assert result.stdout.split() == [
        str(pipx),
        "run",
        "--spec",
        "git+https://github.com/production-fastapi/production-fastapi",
        "production-fastapi",
        "review",
        ".",
    ]
    uvx = fake_tool(tools, "uvx")
    result = run_launcher(skill, ["review", "."], path=str(tools), cwd=tmp_path)
    assert result.stdout.split()[:3] == [
        str(uvx),
        "--from",
        "git+https://github.com/production-fastapi/production-fastapi",
    ]
    # A local clone instead of GitHub.
    env_source = subprocess.run(
        [sys.executable, "-S", str(skill / "scripts" / "production-fastapi"), "rule", "PF706"],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": str(tools), "PRODUCTION_FASTAPI_SOURCE": "/src/production-fastapi"},
        check=False,
    )
    assert env_source.stdout.split() == [
        str(uvx),
        "--from",
        "/src/production-fastapi",
        "production-fastapi",
        "rule",
        "PF706",
    ]


def test_launcher_with_nothing_available_says_what_to_do(skill: Path, tmp_path: Path) -> None:
    forget_the_installer(skill)
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    result = run_launcher(skill, ["review", "."], path=str(empty), cwd=tmp_path)
    assert result.returncode == 127
    assert result.stdout == ""
    message = result.stderr
    assert message.count("\n") == 1, "one line"
    for advice in (
        "MCP tools",
        "pip install git+https://github.com/production-fastapi/production-fastapi",
        "SKILL.md's checklist",
    ):
        assert advice in message


def test_launcher_on_path_does_not_run_itself_forever(skill: Path, tmp_path: Path) -> None:
    # The skill's scripts folder put on PATH: `production-fastapi` found there is this launcher, not the CLI.
    forget_the_installer(skill)
    result = run_launcher(skill, ["review", "."], path=str(skill / "scripts"), cwd=tmp_path)
    assert result.returncode == 127
    assert "is not available here" in result.stderr
