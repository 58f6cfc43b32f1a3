"""Project awareness of declared library versions: what each packaging format declares, how a rule's ``versions``
condition is judged against it, and what a v1-pinned, a compatibility and a v2 project get from a real review."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from production_fastapi.review import review_paths
from production_fastapi.review.dependencies import declared_targets, poetry_specifier
from production_fastapi.review.targets import coverage
from production_fastapi.rules import all_rules
from production_fastapi.rules.base import VersionCondition

V2 = VersionCondition.parse("pydantic>=2")

V1_MODELS = '''\
from pydantic import BaseModel, BaseSettings, Field, validator


class Settings(BaseSettings):
    database_url: str = "sqlite://"


class Transfer(BaseModel):
    account: str = Field(regex=r"[A-Z]+")
    tags: list[str] = Field(default_factory=list, min_items=1)

    class Config:
        orm_mode = True

    @validator("account")
    def upper(cls, value: str) -> str:
        return value.upper()


def dump(transfer: Transfer) -> dict[str, object]:
    return transfer.dict()
'''


def _write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        target = root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    return root


def _pf6(root: Path, **options: bool) -> list[tuple[str, str | None]]:
    report = review_paths([root], select=["PF6"], cache=False, jobs=1, **options)
    assert report.errors == []
    return [(f.code, f.fix_applicability) for f in report.findings]


# --- reading declarations -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({"pyproject.toml": '[project]\nname = "x"\ndependencies = ["pydantic~=1.10", "fastapi>=0.95"]\n'},
         {"pydantic": "~=1.10", "fastapi": ">=0.95"}),
        ({"pyproject.toml": '[project]\nname = "x"\n[project.optional-dependencies]\nweb = ["Pydantic[email] <2"]\n'},
         {"pydantic": "<2"}),
        ({"pyproject.toml": '[tool.poetry.dependencies]\npython = "^3.9"\npydantic = "^1.10"\n'
                            '[tool.poetry.group.dev.dependencies]\nredis = {version = "~4.1", extras = ["hiredis"]}\n'},
         {"pydantic": ">=1.10,<2", "redis": ">=4.1,<4.2"}),
        ({"pyproject.toml": '[tool.pdm.dev-dependencies]\ntest = ["uvicorn==0.29.0"]\n'}, {"uvicorn": "==0.29.0"}),
        ({"requirements.txt": "-r requirements/base.txt\nfastapi  # the web framework\n",
          "requirements/base.txt": "pydantic>=1.8,<2.0 ; python_version >= '3.8'\n-r ../requirements.txt\n"},
         {"pydantic": "<2.0,>=1.8"}),
        ({"setup.cfg": "[options]\ninstall_requires =\n    pydantic<2\n    starlette>=0.20\n"},
         {"pydantic": "<2", "starlette": ">=0.20"}),
        ({"setup.py": 'from setuptools import setup\nREQUIRES = ["pydantic>=1.9,<2"]\n'
                      'raise SystemExit("setup.py is read, never run")\nsetup(name="x", install_requires=REQUIRES)\n'},
         {"pydantic": "<2,>=1.9"}),
        # A lock pins what the project does not declare itself (pydantic, through fastapi).
        ({"pyproject.toml": '[project]\nname = "x"\ndependencies = ["fastapi"]\n',
          "uv.lock": 'version = 1\n[[package]]\nname = "pydantic"\nversion = "1.10.13"\n'
                     '[[package]]\nname = "fastapi"\nversion = "0.99.1"\n'},
         {"pydantic": "==1.10.13", "fastapi": "==0.99.1"}),
        ({"poetry.lock": '[[package]]\nname = "pydantic"\nversion = "1.10.2"\n'}, {"pydantic": "==1.10.2"}),
        ({"Pipfile.lock": json.dumps({"default": {"pydantic": {"version": "==1.10.4"}}})}, {"pydantic": "==1.10.4"}),
        ({"pyproject.toml": "this is [not toml", "requirements.txt": "pydantic>=2\n"}, {"pydantic": ">=2"}),
        ({"setup.py": "def broken(:\n"}, {}),
    ],
    ids=["project", "optional-extras", "poetry-groups", "pdm", "requirements-includes", "setup-cfg", "setup-py",
         "uv-lock-transitive", "poetry-lock", "pipfile-lock", "broken-pyproject", "broken-setup-py"],
)
def test_declared_targets_per_format(tmp_path: Path, files: dict[str, str], expected: dict[str, str]) -> None:
    assert dict(declared_targets(_write(tmp_path, files))) == expected


def test_requirement_includes_never_leave_the_project(tmp_path: Path) -> None:
    (tmp_path / "outside.txt").write_text("pydantic<2\n")
    project = _write(tmp_path / "p", {"requirements.txt": "-r ../outside.txt\n"})
    assert declared_targets(project) == ()


@pytest.mark.parametrize(
    ("constraint", "expected"),
    [("^1.10", ">=1.10,<2"), ("^0.95.1", ">=0.95.1,<0.96"), ("~1.10", ">=1.10,<1.11"), ("*", ""),
     (">=1.8,<2", ">=1.8,<2"), ("1.10.2", "==1.10.2"), ("^1.10 || ^2.0", ">=1.10,<2 || >=2.0,<3")],
)
def test_poetry_constraints(constraint: str, expected: str) -> None:
    assert poetry_specifier(constraint) == expected


@pytest.mark.parametrize(
    ("declared", "expected"),
    [("~=1.10", "off"), ("<2", "off"), ("==1.10.13", "off"), (">=1.10,<3", "compat"), ("<2 || >=2.5", "compat"),
     (">=2", "full"), ("~=2.5", "full"), ("", "full"), (">=3", "full")],
)
def test_coverage_of_a_version_condition(declared: str, expected: str) -> None:
    assert coverage((("pydantic", declared),) if declared else (), V2) == expected


def test_every_version_condition_parses_and_names_a_tracked_library() -> None:
    from production_fastapi.review.dependencies import TRACKED

    conditioned = {r.code: r.version_condition for r in all_rules() if r.versions}
    assert {"PF101", "PF601", "PF602", "PF603", "PF604", "PF605", "PF606", "PF801", "PF806"} <= set(conditioned)
    for code, condition in conditioned.items():
        assert condition is not None, code
        assert condition.library in TRACKED, code


# --- reviews of whole projects ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "declaration",
    [
        {"pyproject.toml": '[project]\nname = "svc"\ndependencies = ["pydantic~=1.10"]\n'},
        {"requirements.txt": "pydantic==1.10.13\n"},
        {"pyproject.toml": '[tool.poetry.dependencies]\npydantic = "^1.10"\n'},
        {"setup.cfg": "[options]\ninstall_requires = pydantic<2\n"},
        {"setup.py": 'from setuptools import setup\nsetup(name="svc", install_requires=["pydantic>=1.9,<2"])\n'},
        {"pyproject.toml": '[project]\nname = "svc"\ndependencies = ["fastapi<0.100"]\n',
         "uv.lock": '[[package]]\nname = "pydantic"\nversion = "1.10.13"\n'},
    ],
    ids=["pyproject", "requirements", "poetry", "setup-cfg", "setup-py", "uv-lock"],
)
def test_a_v1_pinned_project_gets_no_pydantic_v2_findings(tmp_path: Path, declaration: dict[str, str]) -> None:
    root = _write(tmp_path, {**declaration, "app/models.py": V1_MODELS})
    assert _pf6(root) == []
    assert _pf6(root, fix=True, unsafe_fixes=True) == []
    assert (root / "app/models.py").read_text() == V1_MODELS, "no fix may touch a v1 project"


def test_a_compatibility_project_hears_only_what_breaks_on_v2_and_gets_no_fix(tmp_path: Path) -> None:
    root = _write(tmp_path, {"requirements.txt": "pydantic>=1.10,<3\n", "app/models.py": V1_MODELS})
    found = _pf6(root)
    # The BaseSettings import and Field(regex=) raise on Pydantic 2 and v2 ignores `orm_mode` in class Config;
    # @validator, .dict() and min_items only warn there, and are deliberate in code that supports both.
    assert found == [("PF605", None), ("PF604", None), ("PF602", None)]
    _pf6(root, fix=True, unsafe_fixes=True)
    assert (root / "app/models.py").read_text() == V1_MODELS


def test_a_v2_project_gets_every_finding_and_only_safe_fixes_by_default(tmp_path: Path) -> None:
    root = _write(tmp_path, {"requirements.txt": "pydantic>=2.5\n", "app/models.py": V1_MODELS})
    found = _pf6(root)
    expected_fixes = [
        ("PF605", "unsafe"), ("PF604", "unsafe"), ("PF604", "safe"), ("PF602", "unsafe"), ("PF603", "safe")
    ]
    for expected in expected_fixes:
        assert expected in found  # unsafe: the BaseSettings move, regex -> pattern, orm_mode (ignored by v2)
    assert ("PF601", None) in found
    _pf6(root, fix=True)
    fixed = (root / "app/models.py").read_text()
    for applied in ("min_length=1", "@field_validator"):
        assert applied in fixed
    for left in ('regex=r"[A-Z]+"', "from pydantic import BaseModel, BaseSettings", "orm_mode = True"):
        assert left in fixed, "unsafe fixes stay out"


def test_undeclared_versions_mean_current_releases(tmp_path: Path) -> None:
    root = _write(tmp_path, {"pyproject.toml": '[project]\nname = "svc"\n', "app/models.py": V1_MODELS})
    found = _pf6(root)
    assert {code for code, _ in found} == {"PF601", "PF602", "PF603", "PF604", "PF605"}
    # Nothing declared, so the project may still run on pydantic 1, where the v2 spellings do not exist: no
    # rewrite to them is promised safe, and --fix alone changes nothing.
    assert {applicability for _, applicability in found} <= {"unsafe", None}
    _pf6(root, fix=True)
    assert (root / "app/models.py").read_text() == V1_MODELS


def test_other_libraries_versions_switch_their_rules(tmp_path: Path) -> None:
    gunicorn_conf = 'worker_class = "uvicorn.workers.UvicornWorker"\nbind = "0.0.0.0:8000"\nworkers = 2\n'
    on_event = (
        'from fastapi import FastAPI\n\napp = FastAPI()\n\n\n'
        '@app.on_event("startup")\nasync def s() -> None:\n    pass\n'
    )
    old = _write(tmp_path / "old", {"requirements.txt": "uvicorn==0.29.0\nfastapi==0.88.0\n",
                                     "gunicorn_conf.py": gunicorn_conf, "app/main.py": on_event})
    new = _write(tmp_path / "new", {"requirements.txt": "uvicorn>=0.30\nfastapi>=0.100\n",
                                     "gunicorn_conf.py": gunicorn_conf, "app/main.py": on_event})
    for root, expected in ((old, set()), (new, {"PF801", "PF101"})):
        report = review_paths([root], select=["PF801", "PF101"], cache=False, jobs=1)
        assert {f.code for f in report.findings} == expected


def test_the_cache_keys_on_the_declared_versions(tmp_path: Path) -> None:
    root = _write(tmp_path, {"requirements.txt": "pydantic>=2\n", "app/models.py": V1_MODELS})
    first = review_paths([root], select=["PF6"], jobs=1)
    assert first.findings
    (root / "requirements.txt").write_text("pydantic<2\n")
    assert review_paths([root], select=["PF6"], jobs=1).findings == []
    (root / "requirements.txt").write_text("pydantic>=2\n")
    assert review_paths([root], select=["PF6"], jobs=1).findings == first.findings


@pytest.mark.parametrize(
    ("fastapi", "pydantic"),
    [("fastapi>=0.61", ">=1,<3"), ("fastapi<0.100", "<2"), ("fastapi>=0.115", None)],
    ids=["floor-before-0.100", "only-before-0.100", "floor-after-0.100"],
)
def test_an_undeclared_pydantic_follows_what_the_fastapi_range_allows(
    tmp_path: Path, fastapi: str, pydantic: str | None
) -> None:
    """FastAPI before 0.100 requires pydantic 1: a project that names only FastAPI, with a floor that old, may
    run on pydantic 1, so v2-only advice holds only where the code would break on v2."""
    _write(tmp_path, {"requirements.txt": f"{fastapi}\n"})
    assert dict(declared_targets(tmp_path)).get("pydantic") == pydantic
