"""``[tool.production-fastapi]``: discovery, validation, selection, per-file ignores, excludes."""

from __future__ import annotations

from pathlib import Path

import pytest

from production_fastapi.review import Config, ConfigError, review_paths
from production_fastapi.review.config import DEFAULT_EXCLUDE, find_config, load_config, parse_selectors

SLEEPY = "import time\n\nimport fastapi\n\n\nasync def f() -> None:\n    time.sleep(1)\n    print(fastapi)\n"


def _project(root: Path, table: str, files: dict[str, str]) -> None:
    (root / "pyproject.toml").write_text(f'[project]\nname = "demo"\n\n[tool.production-fastapi]\n{table}\n')
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def _codes(root: Path, *paths: Path) -> list[tuple[str, str]]:
    report = review_paths(list(paths) or [root], cache=False, jobs=1)
    assert report.errors == []
    return sorted((Path(f.path).resolve().relative_to(root).as_posix(), f.code) for f in report.findings)


def test_config_is_found_upward_from_the_reviewed_path(tmp_path: Path) -> None:
    _project(tmp_path, 'select = ["PF702"]', {"app/deep/er/main.py": SLEEPY})
    config = find_config(tmp_path / "app" / "deep" / "er")
    assert config.source == tmp_path / "pyproject.toml"
    assert config.root == tmp_path
    assert _codes(tmp_path, tmp_path / "app" / "deep") == [("app/deep/er/main.py", "PF702")]


def test_a_pyproject_without_our_table_marks_the_root_but_keeps_defaults(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n')
    (tmp_path / "pkg").mkdir()
    config = find_config(tmp_path / "pkg")
    assert (config.root, config.source, config.select) == (tmp_path, None, ("PF",))


def test_select_ignore_specificity_like_ruff(tmp_path: Path) -> None:
    config = Config(root=tmp_path, select=("PF7",), ignore=("PF70",), extend_select=("PF702",))
    assert config.is_selected("PF702")
    assert not config.is_selected("PF701")
    assert config.is_selected("PF710")
    assert not config.is_selected("PF201")
    assert Config(root=tmp_path, select=("PF",), ignore=("PF",)).is_selected("PF702") is False


def test_per_file_ignores_and_ignore(tmp_path: Path) -> None:
    _project(
        tmp_path,
        'select = ["PF702", "PF201"]\nignore = []\n[tool.production-fastapi.per-file-ignores]\n'
        '"worker/*.py" = ["PF2"]\n"**/legacy.py" = ["PF702"]\n',
        {"app/main.py": SLEEPY, "worker/run.py": SLEEPY, "app/old/legacy.py": SLEEPY},
    )
    assert _codes(tmp_path) == [
        ("app/main.py", "PF201"),
        ("app/main.py", "PF702"),
        ("app/old/legacy.py", "PF201"),
        ("worker/run.py", "PF702"),
    ]


def test_exclude_and_extend_exclude(tmp_path: Path) -> None:
    _project(
        tmp_path,
        'select = ["PF702"]\nextend-exclude = ["migrations", "app/generated/*.py"]',
        {
            "app/main.py": SLEEPY,
            "migrations/versions/001.py": SLEEPY,
            "app/generated/models.py": SLEEPY,
            ".venv/x.py": SLEEPY,
        },
    )
    assert _codes(tmp_path) == [("app/main.py", "PF702")]
    replaced = load_config(tmp_path / "pyproject.toml")
    assert set(DEFAULT_EXCLUDE) <= set(replaced.exclude)


def test_exclude_replaces_the_defaults(tmp_path: Path) -> None:
    _project(tmp_path, 'select = ["PF702"]\nexclude = []', {"build/main.py": SLEEPY})
    assert _codes(tmp_path) == [("build/main.py", "PF702")]


def test_fail_on_and_max_file_size(tmp_path: Path) -> None:
    _project(tmp_path, 'fail-on = "error"\nmax-file-size = 10', {"app/main.py": SLEEPY})
    config = load_config(tmp_path / "pyproject.toml")
    assert (config.fail_on, config.max_file_size) == ("error", 10)
    assert _codes(tmp_path) == [("app/main.py", "PF000")]


@pytest.mark.parametrize(
    ("table", "fragment"),
    [
        ('selct = ["PF7"]', "unknown key 'selct'"),
        ('select = "PF7"', "select must be a list of strings"),
        ('select = ["E501"]', "'E501' is not a rule selector"),
        ('fail-on = "fatal"', "fail-on must be one of error, warning, info"),
        ("max-file-size = -1", "max-file-size must be a positive number"),
        ('per-file-ignores = { "x.py" = "PF7" }', "must be a list of codes"),
    ],
)
def test_invalid_config_is_one_clear_error(tmp_path: Path, table: str, fragment: str) -> None:
    _project(tmp_path, table, {})
    with pytest.raises(ConfigError, match=fragment) as info:
        load_config(tmp_path / "pyproject.toml")
    assert str(tmp_path / "pyproject.toml") in str(info.value)


def test_invalid_toml_is_one_clear_error(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.production-fastapi\nselect = [\n")
    with pytest.raises(ConfigError, match="is not valid TOML"):
        load_config(tmp_path / "pyproject.toml")


def test_selectors_accept_commas_and_all() -> None:
    assert parse_selectors(["pf7, PF201", "ALL"], "--select") == ("PF7", "PF201", "ALL")
    with pytest.raises(ConfigError, match="--select: 'PFX' is not a rule selector"):
        parse_selectors(["PFX"], "--select")


def test_fingerprint_changes_with_what_affects_findings(tmp_path: Path) -> None:
    base = Config(root=tmp_path)
    assert base.fingerprint() == Config(root=tmp_path / "elsewhere").fingerprint()
    assert base.fingerprint() != base.with_overrides(ignore=["PF702"]).fingerprint()


def test_an_excluded_folder_named_explicitly_is_reviewed(tmp_path: Path) -> None:
    _project(
        tmp_path,
        'select = ["PF702"]\nextend-exclude = ["evals/tasks", "legacy"]',
        {"evals/tasks/t1/oracle/main.py": SLEEPY, "legacy/old.py": SLEEPY, "evals/tasks/t1/.venv/x.py": SLEEPY},
    )
    assert _codes(tmp_path) == []
    assert _codes(tmp_path, tmp_path / "evals" / "tasks" / "t1") == [("evals/tasks/t1/oracle/main.py", "PF702")]
    assert _codes(tmp_path, tmp_path / "legacy") == [("legacy/old.py", "PF702")]


def test_services_with_their_own_pyproject_are_separate_projects_under_one_config(tmp_path: Path) -> None:
    """A monorepo configured at the top: each service (its own pyproject.toml) is its own project, so one service's
    health router does not count for another's app."""
    _project(tmp_path, 'select = ["PF301"]', {})
    app = "from fastapi import FastAPI\n\napp = FastAPI()\n"
    health = (
        "from fastapi import FastAPI\n\nfrom svc.main import app\n\n\n"
        '@app.get("/health/live")\ndef live() -> dict[str, str]:\n    return {}\n'
    )
    for service in ("orders", "billing"):
        (tmp_path / service / "svc").mkdir(parents=True)
        (tmp_path / service / "pyproject.toml").write_text(f'[project]\nname = "{service}"\n')
        (tmp_path / service / "svc" / "main.py").write_text(app)
    (tmp_path / "orders" / "svc" / "health.py").write_text(health)
    config = find_config(tmp_path / "orders" / "svc")
    assert (config.root, config.project_root) == (tmp_path, tmp_path / "orders")
    assert _codes(tmp_path) == [("billing/svc/main.py", "PF301")]


def test_a_path_exclude_holds_when_the_project_is_reviewed_as_dot(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`production-fastapi review .` from the project root: "." is the root itself, so `extend-exclude = ["a/b"]`
    matches a/b (a regression once turned "." into its parent folder and every path pattern stopped matching)."""
    (tmp_path / "pyproject.toml").write_text('[tool.production-fastapi]\nextend-exclude = ["evals/tasks"]\n')
    for folder in ("app", "evals/tasks/one"):
        (tmp_path / folder).mkdir(parents=True)
        (tmp_path / folder / "main.py").write_text("import time\n\n\nasync def f() -> None:\n    time.sleep(1)\n")
    monkeypatch.chdir(tmp_path)
    report = review_paths([Path(".")], cache=False, jobs=1)
    assert sorted({f.path for f in report.findings}) == ["app/main.py"]
