"""The package's own plumbing: the bundle (checkout and installed wheel), the CLI's template and install commands."""

from __future__ import annotations

import os
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from production_fastapi import bundle
from production_fastapi.cli import main
from production_fastapi.install import destination

REPO = Path(__file__).resolve().parent.parent


def test_bundle_finds_the_checkout() -> None:
    assert bundle.bundle_root() == REPO
    assert bundle.skill_md().read_text(encoding="utf-8").startswith("---\n")


def test_every_template_has_a_header_purpose() -> None:
    templates = bundle.list_templates()
    assert templates, "templates/ is empty"
    for template in templates:
        assert template.purpose, f"{template.name} has no header saying what it is for"
    assert "__init__.py" not in {t.name for t in templates}


def test_unknown_template_is_a_clear_error() -> None:
    with pytest.raises(bundle.BundleError, match="unknown template 'nope'"):
        bundle.get_template("nope")


def test_template_command_prints_and_lists(capsys: pytest.CaptureFixture[str]) -> None:
    first = bundle.list_templates()[0]
    assert main(["template", first.name]) == 0
    assert capsys.readouterr().out == first.content
    assert main(["template", "--list"]) == 0
    listing = capsys.readouterr().out
    assert all(t.name in listing for t in bundle.list_templates())


def test_template_command_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["template", "does-not-exist"]) == 2
    assert "unknown template 'does-not-exist'" in capsys.readouterr().err
    assert main(["template"]) == 2
    assert "name a template, or pass --list" in capsys.readouterr().err


def test_install_project_scope_then_unchanged_then_refuses(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = destination("project", "claude", tmp_path)
    assert target == tmp_path / ".claude" / "skills" / "production-fastapi"
    assert main(["install", "--project", str(tmp_path)]) == 0
    assert (target / "SKILL.md").read_bytes() == bundle.skill_md().read_bytes()
    for template in bundle.list_templates():
        assert (target / "templates" / template.name).read_bytes() == template.path.read_bytes()
    assert (target / "references").is_dir()
    assert not list(target.rglob("__pycache__"))
    assert "installed:" in capsys.readouterr().out

    assert main(["install", "--project", str(tmp_path)]) == 0
    assert "unchanged:" in capsys.readouterr().out

    (target / "SKILL.md").write_text("edited by hand\n", encoding="utf-8")
    assert main(["install", "--project", str(tmp_path)]) == 2
    assert "--force" in capsys.readouterr().err
    assert (target / "SKILL.md").read_text(encoding="utf-8") == "edited by hand\n", "refusal must not touch it"

    assert main(["install", "--project", str(tmp_path), "--force"]) == 0
    assert "replaced:" in capsys.readouterr().out
    assert (target / "SKILL.md").read_bytes() == bundle.skill_md().read_bytes()
    assert sorted(p.name for p in target.parent.iterdir()) == ["production-fastapi"], "no staging leftovers"


def test_install_agents_dir_and_user_scope(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert destination("project", "agents", tmp_path) == tmp_path / ".agents" / "skills" / "production-fastapi"
    home = tmp_path / "home"
    monkeypatch.setenv("HOME", str(home))
    assert main(["install", "--scope", "user", "--agent", "agents"]) == 0
    assert (home / ".agents" / "skills" / "production-fastapi" / "SKILL.md").is_file()


def test_install_over_a_file_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = destination("project", "claude", tmp_path)
    target.parent.mkdir(parents=True)
    target.write_text("not a folder", encoding="utf-8")
    assert main(["install", "--project", str(tmp_path)]) == 2
    assert "is not a folder" in capsys.readouterr().err
    assert target.read_text(encoding="utf-8") == "not a folder"


def test_wheel_carries_the_bundle(tmp_path: Path) -> None:
    """Build the wheel, install it (no dependencies) into a fresh venv, and read a template through the CLI."""
    dist = tmp_path / "dist"
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(dist), str(REPO)],
        check=True,
        capture_output=True,
    )
    (wheel,) = dist.glob("production_fastapi-*.whl")
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    python = env_dir / "bin" / "python"
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps", str(wheel)],
        check=True,
        capture_output=True,
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    template = bundle.list_templates()[0]
    shown = subprocess.run(
        [str(env_dir / "bin" / "production-fastapi"), "template", template.name],
        check=True,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
    )
    assert shown.stdout == template.content
    located = subprocess.run(
        [str(python), "-c", "from production_fastapi import bundle; print(bundle.bundle_root())"],
        check=True,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
    )
    assert "_bundle" in located.stdout
    assert str(REPO) not in located.stdout


def test_every_rule_pointing_at_a_template_is_claimed_by_its_header() -> None:
    """A rule's docs send readers to a template; that template's ``Rules:`` header must say it covers the rule."""
    from production_fastapi.rules import all_rules

    claimed = {template.name: set(template.rules) for template in bundle.list_templates()}
    missing = [
        f"{rule.code} -> {rule.template}"
        for rule in all_rules()
        if rule.template is not None and rule.code not in claimed.get(rule.template.removeprefix("templates/"), set())
    ]
    assert not missing, f"templates whose Rules: header omits a rule pointing at them: {missing}"
    assert all(code.startswith("PF") for codes in claimed.values() for code in codes)
