"""What the generated project contains: the templates byte for byte, and per-project files that follow the options.

These read the files (fast); test_generated_project.py runs them.
"""

from __future__ import annotations

import difflib
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from production_fastapi import bundle
from production_fastapi.scaffold import ScaffoldError, generate
from production_fastapi.scaffold.dockerfile import adapt_dockerfile
from production_fastapi.scaffold.render import BLUEPRINTS
from production_fastapi.scaffold.spec import make_spec

REPO = Path(__file__).resolve().parents[2]


# For existing apps that keep FastAPI's {"detail": ...} errors; a new service has their problem+json versions.
EXISTING_APP_ONLY = {"body_limit.py", "validation_errors.py"}


def _templates() -> list[Path]:
    skipped = {"__init__.py", "py.typed", *EXISTING_APP_ONLY}
    return [p for p in bundle.templates_dir().iterdir() if p.is_file() and p.name not in skipped]


@pytest.fixture(scope="module")
def default(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("content") / "orders-service"
    generate("orders-service", root)
    return root


def test_templates_are_copied_verbatim_into_the_package(default: Path) -> None:
    templates = _templates()
    assert {"settings.py", "main.py", "gunicorn_conf.py", "Dockerfile", ".dockerignore"} <= {p.name for p in templates}
    for template in templates:
        if template.name == "Dockerfile":
            continue
        where = default if template.name == ".dockerignore" else default / "orders_service"
        assert (where / template.name).read_bytes() == template.read_bytes(), template.name
    for name in EXISTING_APP_ONLY:
        assert (bundle.templates_dir() / name).is_file()
        assert not (default / "orders_service" / name).exists(), name


def test_dockerfile_differs_from_the_template_only_where_the_project_does(default: Path) -> None:
    template = (bundle.templates_dir() / "Dockerfile").read_text(encoding="utf-8").splitlines()
    generated = (default / "Dockerfile").read_text(encoding="utf-8").splitlines()
    changed = [line for line in difflib.unified_diff(template, generated, lineterm="", n=0) if line[:1] == "+"][1:]
    assert changed == [
        "+ARG PYTHON_VERSION=3.11",
        "+COPY orders_service ./orders_service",
        '+CMD ["gunicorn", "-c", "python:orders_service.gunicorn_conf", "orders_service.app:app"]',
    ]


def test_pyproject_pins_the_templates_ranges_and_names_the_entrypoint(default: Path) -> None:
    pyproject = tomllib.loads((default / "pyproject.toml").read_text(encoding="utf-8"))
    project = pyproject["project"]
    assert project["name"] == "orders-service"
    assert project["requires-python"] == ">=3.11"
    assert pyproject["tool"]["fastapi"]["entrypoint"] == "orders_service.app:app"
    # The same ranges as our own `templates` extra (never typed twice).
    ours_pyproject = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    ours = {
        (r.name, str(r.specifier))
        for r in map(Requirement, ours_pyproject["project"]["optional-dependencies"]["templates"])
    }
    generated = {(r.name, str(r.specifier)) for r in map(Requirement, project["dependencies"])}
    assert generated == ours
    assert "fastapi-cli" in {name for name, _ in generated}, "`fastapi run` needs fastapi-cli"
    assert {d.split(">")[0] for d in project["optional-dependencies"]["dev"]} >= {"pytest", "ruff", "mypy", "anyio"}


@pytest.mark.parametrize(("python", "tag"), [("3.12", "py312"), ("3.13", "py313")])
def test_python_option_reaches_every_tool(tmp_path: Path, python: str, tag: str) -> None:
    root = tmp_path / "svc"
    generate("svc", root, python=python)
    pyproject = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    assert pyproject["project"]["requires-python"] == f">={python}"
    assert pyproject["tool"]["ruff"]["target-version"] == tag
    assert pyproject["tool"]["mypy"]["python_version"] == python
    assert f"ARG PYTHON_VERSION={python}\n" in (root / "Dockerfile").read_text(encoding="utf-8")


def test_options_change_only_the_project_specific_files(tmp_path: Path, default: Path) -> None:
    infra = tmp_path / "orders-service"
    generate("orders-service", infra, database="postgres", redis=True)
    differing = {
        p.relative_to(infra).as_posix()
        for p in infra.rglob("*")
        if p.is_file() and p.read_bytes() != (default / p.relative_to(infra)).read_bytes()
    }
    assert differing == {".env.example", "README.md", "tests/conftest.py"}
    env_example = (infra / ".env.example").read_text(encoding="utf-8")
    assert "\nDATABASE_URL=postgresql+asyncpg://postgres:postgres@localhost:5432/orders_service\n" in env_example
    assert "\nREDIS_URL=redis://localhost:6379/0\n" in env_example
    default_env = (default / ".env.example").read_text(encoding="utf-8")
    assert "\nDATABASE_URL=sqlite+aiosqlite:///./orders_service.db\n" in default_env
    assert "\n# REDIS_URL=" in default_env
    assert "\nREDIS_URL" not in default_env


def test_rendered_files_have_no_leftover_template_syntax(default: Path) -> None:
    for path in default.rglob("*"):
        if path.is_file() and path.name != "script.py.mako":
            text = path.read_text(encoding="utf-8")
            assert "{{" not in text, path
            assert "{%" not in text, path
    assert "__package__" not in {p.name for p in default.rglob("*")}


def test_blueprints_ship_in_the_wheel(tmp_path: Path) -> None:
    offline = ["--no-deps", "--no-build-isolation", "--no-index"]
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", *offline, "-w", str(tmp_path), str(REPO)],
        check=True,
        capture_output=True,
        timeout=180,
    )
    (wheel,) = tmp_path.glob("production_fastapi-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {
        "production_fastapi/scaffold/blueprints/" + p.relative_to(BLUEPRINTS).as_posix()
        for p in BLUEPRINTS.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }
    assert expected <= names, sorted(expected - names)


def test_a_changed_dockerfile_template_fails_loudly() -> None:
    """If templates/Dockerfile changes shape, generation stops instead of shipping an image that cannot start."""
    spec = make_spec("orders", database="sqlite", redis=False, python="3.12")
    text = (bundle.templates_dir() / "Dockerfile").read_text(encoding="utf-8")
    assert "COPY orders ./orders" in adapt_dockerfile(text, spec)
    with pytest.raises(ScaffoldError, match=r"templates/Dockerfile has 0 lines matching .*COPY app"):
        adapt_dockerfile(text.replace("COPY app ./app", "COPY src/ ./"), spec)
