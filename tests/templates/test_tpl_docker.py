"""Dockerfile and .dockerignore, checked without Docker: stages, venv hand-over, PATH, non-root user, entry point."""

from __future__ import annotations

import fnmatch
import json
import os
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path

import pytest
from helpers import TEMPLATES

DOCKERFILE = TEMPLATES / "Dockerfile"
DOCKERIGNORE = TEMPLATES / ".dockerignore"


@dataclass
class Stage:
    name: str
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def values(self, keyword: str) -> list[str]:
        return [value for key, value in self.instructions if key == keyword]


def parse_dockerfile(text: str) -> list[Stage]:
    """Instructions per stage, with line continuations joined and comments dropped."""
    logical: list[str] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        logical.append(pending + line)
        pending = ""
    stages: list[Stage] = []
    for line in logical:
        keyword, _, value = line.partition(" ")
        keyword = keyword.upper()
        if keyword == "FROM":
            parts = value.split()
            stages.append(Stage(name=parts[2] if len(parts) > 2 and parts[1].upper() == "AS" else parts[0]))
        elif stages:
            stages[-1].instructions.append((keyword, value.strip()))
    return stages


STAGES = parse_dockerfile(DOCKERFILE.read_text(encoding="utf-8"))
BUILDER, RUNTIME = STAGES[0], STAGES[-1]


def env_value(stage: Stage, name: str) -> str | None:
    found = None
    for value in stage.values("ENV"):
        for item in shlex.split(value):
            key, _, assigned = item.partition("=")
            if key == name:
                found = assigned
    return found


def cmd() -> list[str]:
    (value,) = RUNTIME.values("CMD")
    parsed = json.loads(value)  # exec form: gunicorn is PID 1 and gets SIGTERM itself
    assert isinstance(parsed, list)
    return [str(part) for part in parsed]


def test_multi_stage_with_the_venv_copied_from_the_builder() -> None:
    assert [stage.name for stage in STAGES] == ["builder", "runtime"]
    assert "python -m venv /opt/venv" in BUILDER.values("RUN")
    assert "--from=builder /opt/venv /opt/venv" in RUNTIME.values("COPY")
    # Only the venv crosses over: no source tree, no build tools in the runtime stage.
    assert all(value.startswith("--from=builder /opt/venv") for value in RUNTIME.values("COPY"))
    assert not any("pip install" in value for value in RUNTIME.values("RUN"))


def test_venv_bin_is_first_on_path_in_both_stages() -> None:
    for stage in (BUILDER, RUNTIME):
        path = env_value(stage, "PATH")
        assert path is not None
        assert path.split(":")[0] == "/opt/venv/bin"


def test_runs_as_a_numeric_non_root_user_created_in_the_image() -> None:
    (user,) = RUNTIME.values("USER")
    assert user.isdigit()
    assert user != "0"
    assert any(f"--uid {user}" in value for value in RUNTIME.values("RUN"))


def test_working_directory_is_writable_by_that_user() -> None:
    (workdir,) = RUNTIME.values("WORKDIR")
    assert any(f"install -d -o app -g app {workdir}" in value for value in RUNTIME.values("RUN"))
    # The embedded default database is a relative SQLite path: it lands in the working directory.
    assert "sqlite+aiosqlite:///./" in (TEMPLATES / "settings.py").read_text(encoding="utf-8")


def test_entry_point_is_a_console_script_installed_into_the_venv() -> None:
    command = cmd()
    assert command[0] == "gunicorn"
    scripts = {ep.name: ep for ep in entry_points(group="console_scripts")}
    assert scripts["gunicorn"].dist is not None
    assert scripts["gunicorn"].dist.name == "gunicorn"
    # `pip install .` in the builder installs the project's dependencies (gunicorn among them) into /opt/venv.
    # ...and the venv's pip is the one on PATH when it runs.
    assert "pip install ." in BUILDER.values("RUN")
    assert (env_value(BUILDER, "PATH") or "").startswith("/opt/venv/bin")


def test_healthcheck_and_port_match_the_templates() -> None:
    (healthcheck,) = RUNTIME.values("HEALTHCHECK")
    assert "/health/live" in healthcheck
    assert RUNTIME.values("EXPOSE") == ["8000"]
    assert env_value(RUNTIME, "PORT") == "8000"


def test_build_context_keeps_secrets_and_local_state_out() -> None:
    patterns = [
        line.strip() for line in DOCKERIGNORE.read_text(encoding="utf-8").splitlines() if line.strip()[:1] not in "#"
    ]
    positive = [p for p in patterns if not p.startswith("!")]

    def ignored(name: str) -> bool:
        result = False
        for pattern in patterns:
            if fnmatch.fnmatch(name, pattern.lstrip("!")):
                result = not pattern.startswith("!")
        return result

    for secret in (".env", ".env.production", ".git", ".venv", "venv", "service.db", "__pycache__"):
        assert ignored(secret), secret
    assert not ignored(".env.example")
    # What the builder copies must reach the build context.
    copied = [value.split()[:-1] for value in BUILDER.values("COPY")]
    for sources in copied:
        for source in sources:
            assert not ignored(source), f"{source} is COPY'd but excluded by .dockerignore"
    assert positive


@pytest.mark.timeout(60)
def test_the_cmd_resolves_in_a_project_laid_out_as_the_dockerfile_expects(tmp_path: Path) -> None:
    """gunicorn --check-config with the CMD's own arguments, PATH led by a venv's bin, in an app/ package."""
    shutil.copytree(TEMPLATES, tmp_path / "app", ignore=shutil.ignore_patterns("__pycache__"))
    venv_bin = Path(sys.executable).parent
    executable = shutil.which(cmd()[0], path=str(venv_bin))
    assert executable is not None
    env = {
        **os.environ,
        "PATH": f"{venv_bin}:{os.environ.get('PATH', '')}",
        "HOME": str(tmp_path),
        "DATABASE_URL": "sqlite+aiosqlite:///:memory:",
        "PORT": "8000",
    }
    result = subprocess.run(
        [executable, "--check-config", *cmd()[1:]],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=50,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
