"""The engine: name resolution, scopes, positions, PF000, suppressions, rule isolation and file discovery.

Rules used here are built in the test (not registered) so the engine is tested independently of the catalog,
except where the public API is exercised end to end with PF702 (the rule the engine engineer wired as the example).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

from production_fastapi.review import Config, review_paths, review_source
from production_fastapi.review.engine import check_python, check_text, default_rules
from production_fastapi.rules.base import Rule, RuleDocs, RuleError, Violation, file_rule
from production_fastapi.rules.context import FileContext, TextContext, module_name_for
from production_fastapi.rules.names import ImportMap

DOCS = RuleDocs(what_it_does="x", why="y", example="import time\n", use_instead="import asyncio\n")


def _ctx(source: str, path: str = "app/main.py") -> FileContext:
    return FileContext(path, source, ast.parse(source), module_name_for(path))


def _call(ctx: FileContext, name: str) -> ast.Call:
    for call in ctx.nodes(ast.Call):
        if isinstance(call.func, (ast.Name, ast.Attribute)) and ast.unparse(call.func) == name:
            return call
    raise AssertionError(f"no call to {name}")


def _rule(check: object, code: str = "PF990", kind: str = "file", **extra: object) -> Rule:
    return Rule(
        code=code,
        name=f"test-rule-{code.lower()}",
        severity="warning",
        message="test message",
        docs=DOCS,
        kind=kind,  # type: ignore[arg-type]
        check=check,  # type: ignore[arg-type]
        **extra,  # type: ignore[arg-type]
    )


# --- qualified names ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "expression", "expected"),
    [
        ("import httpx as hx\nhx.get('u')", "hx.get", "httpx.get"),
        ("import httpx2\nhttpx2.AsyncClient()", "httpx2.AsyncClient", "httpx.AsyncClient"),
        ("from httpx2 import AsyncClient as C\nC()", "C", "httpx.AsyncClient"),
        ("from time import sleep as nap\nnap(1)", "nap", "time.sleep"),
        ("import os.path\nos.path.join('a')", "os.path.join", "os.path.join"),
        ("import urllib.request as ur\nur.urlopen('u')", "ur.urlopen", "urllib.request.urlopen"),
        ("open('f')", "open", "builtins.open"),
        ("def open(p): ...\nopen('f')", "open", None),
        ("print = log\nprint('x')", "print", None),
        ("undefined_thing()", "undefined_thing", None),
    ],
)
def test_qualified_names(source: str, expression: str, expected: str | None) -> None:
    ctx = _ctx(source)
    assert ctx.qualified_name(_call(ctx, expression).func) == expected


def test_a_name_imported_two_ways_is_unknown() -> None:
    ctx = _ctx("if x:\n    from time import sleep\nelse:\n    from asyncio import sleep\nsleep(1)\n")
    assert ctx.qualified_name(_call(ctx, "sleep").func) is None


def test_relative_imports_resolve_against_the_files_package() -> None:
    tree = ast.parse("from .settings import Settings\nfrom ..core import db\nfrom . import health\n")
    names = ImportMap(tree, package="app.api")
    assert names.resolve_name("Settings") == "app.api.settings.Settings"
    assert names.resolve_name("db") == "app.core.db"
    assert names.resolve_name("health") == "app.api.health"
    unknown = ImportMap(tree, package=None)
    assert unknown.resolve_name("Settings") is None


def test_import_gate_sees_top_level_modules_only_for_absolute_imports() -> None:
    ctx = _ctx("import httpx2\nfrom fastapi.responses import JSONResponse\nfrom . import time\n")
    assert ctx.imports("httpx")
    assert ctx.imports("fastapi")
    assert not ctx.imports("time")


_NESTED_IMPORTS = """\
import os.path as osp, json
from fastapi.responses import JSONResponse
from . import sibling
from .pkg import thing
if TYPE_CHECKING:
    import redis
for _ in range(1):
    import httpx2
else:
    import yaml
while False:
    pass
else:
    import toml
try:
    import orjson
except ImportError as exc:
    import ujson
else:
    import msgpack
finally:
    import atexit
with open("x") as handle:
    import csv
class Settings:
    import pydantic_settings
    def method(self) -> None:
        import sqlalchemy
async def handler() -> None:
    async with lock:
        import anyio
    async for item in stream:
        import asyncpg
match command:
    case "go":
        import subprocess
    case _:
        value = lambda: __import__("not_an_import_statement")
"""


def test_statement_walk_finds_the_same_modules_as_the_full_import_map() -> None:
    tree = ast.parse(_NESTED_IMPORTS)
    ctx = FileContext("app/main.py", _NESTED_IMPORTS, tree, "app.main")
    expected = {"os", "json", "fastapi", "redis", "httpx", "yaml", "toml", "orjson", "ujson", "msgpack", "atexit",
                "csv", "pydantic_settings", "sqlalchemy", "anyio", "asyncpg", "subprocess"}
    assert ctx.modules == expected
    assert ImportMap(tree, "app").modules == expected
    assert "_index" not in ctx.__dict__  # the gate itself never pays for the full index


def test_a_file_no_rule_can_match_is_never_indexed() -> None:
    source = "import os\nimport json\n\ndef total(values: list[int]) -> int:\n    return sum(values)\n"
    outcome, ctx = check_python("lib/sums.py", source, default_rules())
    assert outcome.findings == []
    assert ctx is not None
    assert "_index" not in ctx.__dict__


def test_text_gates_see_names_spelled_in_compatibility_characters() -> None:
    # Python folds identifiers to NFKC: fullwidth letters name the same function as ASCII ones.
    fullwidth_sleep = "".join(chr(0xFF00 + ord(c) - 0x20) for c in "sleep")
    source = f"import time\n\nasync def handler() -> None:\n    time.{fullwidth_sleep}(1)\n"
    ctx = _ctx(source)
    assert ctx.mentions("sleep")
    assert ctx.may_call("time.sleep")
    assert [f.code for f in review_source(source, "app/main.py", select=["PF702"])] == ["PF702"]
    assert not _ctx("import time\n\nasync def handler() -> None:\n    time.monotonic()\n").may_call("time.sleep")


@pytest.mark.parametrize(
    ("path", "module"),
    [
        ("app/api/users.py", "app.api.users"),
        ("src/app/main.py", "app.main"),
        ("app/__init__.py", "app"),
        ("my-scripts/run.py", None),
        ("Dockerfile", None),
    ],
)
def test_module_names(path: str, module: str | None) -> None:
    assert module_name_for(path) == module


# --- scopes ------------------------------------------------------------------------------------------------------


SCOPES = """\
import time

@decorate(time.sleep(0))
async def handler(delay=time.sleep(0)):
    time.sleep(1)
    def helper():
        time.sleep(2)
    callback = lambda: time.sleep(3)
    class Inner:
        time.sleep(4)
        async def method(self):
            time.sleep(5)
    [time.sleep(6) for _ in range(2)]

def sync():
    time.sleep(7)
"""


def test_in_async_function_follows_the_scope_that_runs_the_code() -> None:
    ctx = _ctx(SCOPES)
    flagged = {
        call.args[0].value  # type: ignore[attr-defined]
        for call in ctx.calls("time.sleep")
        if ctx.in_async_function(call)
    }
    # 0: decorator and default run where the function is defined; 2, 3: nested sync scopes; 4: class body;
    # 7: a plain function. 1 and 6 run on the loop; so does 5, a coroutine method.
    assert flagged == {1, 5, 6}


# --- positions ---------------------------------------------------------------------------------------------------


def test_columns_count_characters_not_utf8_bytes() -> None:
    source = "import time\nasync def f():\n    x = 'héllo wörld'; time.sleep(1)\n"
    ctx = _ctx(source)
    violation = ctx.violation(_call(ctx, "time.sleep"))
    line = source.splitlines()[2]
    assert violation.column == line.index("time.sleep") + 1
    assert violation.end_column == line.index("time.sleep") + len("time.sleep(1)") + 1
    assert (violation.line, violation.end_line, violation.path) == (3, 3, "app/main.py")


def test_text_context_positions_from_a_regex_match() -> None:
    import re

    ctx = TextContext("deploy/Dockerfile", "FROM python\nCMD gunicorn -k uvicorn.workers.UvicornWorker app:app\n")
    match = re.search(r"uvicorn\.workers\.UvicornWorker", ctx.text)
    assert match is not None
    violation = ctx.violation_for_match(match)
    assert (violation.line, violation.column, violation.end_column) == (
        2,
        17,
        17 + len("uvicorn.workers.UvicornWorker"),
    )
    assert ctx.violation_at(1).end_column == len("FROM python") + 1
    assert ctx.name == "Dockerfile"


# --- PF000 -------------------------------------------------------------------------------------------------------


def test_syntax_error_is_pf000_at_the_parsers_position() -> None:
    findings = review_source("def f(:\n    pass\n", filename="app/broken.py")
    assert [(f.code, f.line, f.column, f.severity) for f in findings] == [("PF000", 1, 7, "error")]
    assert "syntax error" in findings[0].message


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00", "binary"),
        (b"x = '\xff\xfe caf\xe9'\n", "not valid utf-8"),
        (b"# -*- coding: klingon -*-\nx = 1\n", "encoding"),
        (b"x = 1\n" * 400_000, "over the"),
        (b"print('a')\n" + b"(" * 400 + b")" * 400 + b"\n", "nested"),
    ],
)
def test_unreadable_files_are_pf000_findings_not_tracebacks(tmp_path: Path, data: bytes, fragment: str) -> None:
    target = tmp_path / "bad.py"
    target.write_bytes(data)
    report = review_paths([target], config=Config(root=tmp_path), cache=False, jobs=1)
    assert report.errors == []
    assert [f.code for f in report.findings] == ["PF000"]
    assert fragment in report.findings[0].message.lower()


def test_a_pep263_cookie_is_honoured(tmp_path: Path) -> None:
    target = tmp_path / "legacy.py"
    target.write_bytes(b"# -*- coding: latin-1 -*-\nimport time\nasync def f():\n    s = '\xe9'; time.sleep(1)\n")
    report = review_paths([target], config=Config(root=tmp_path), cache=False, jobs=1, select=["PF702"])
    assert [(f.code, f.line, f.column) for f in report.findings] == [("PF702", 4, 14)]


# --- suppressions ------------------------------------------------------------------------------------------------

SLEEPY = "import time\n\n\nasync def f() -> None:\n    time.sleep(1){comment}\n"


@pytest.mark.parametrize(
    ("comment", "suppressed"),
    [
        ("", False),
        ("  # noqa", True),
        ("  # NOQA", True),
        ("  # noqa: PF702", True),
        ("  # NoQA: pf702", True),
        ("  # noqa:PF702", True),
        ("  # noqa: E501, PF702", True),
        ("  # noqa: PF701", False),
        ("  # noqa: PF7020", False),
        ("  # no qa", False),
    ],
)
def test_line_noqa(comment: str, suppressed: bool) -> None:
    findings = review_source(SLEEPY.format(comment=comment), select=["PF702"])
    assert (findings == []) is suppressed


@pytest.mark.parametrize(
    ("header", "suppressed"),
    [
        ("# production-fastapi: noqa\n", True),
        ("# production-fastapi: noqa: PF702\n", True),
        ("# production-fastapi: noqa: PF201\n", False),
        ("# ruff: noqa\n", False),
    ],
)
def test_file_level_noqa(header: str, suppressed: bool) -> None:
    findings = review_source(header + SLEEPY.format(comment=""), select=["PF702"])
    assert (findings == []) is suppressed


def test_noqa_on_the_last_line_of_a_multiline_finding() -> None:
    source = "import time\n\n\nasync def f() -> None:\n    time.sleep(\n        1\n    )  # noqa: PF702\n"
    assert review_source(source, select=["PF702"]) == []


# --- rule isolation ----------------------------------------------------------------------------------------------


def test_a_crashing_rule_is_reported_and_does_not_hide_other_rules() -> None:
    def crashes(ctx: FileContext) -> Iterator[Violation]:
        raise ValueError("boom")
        yield  # pragma: no cover

    def fires(ctx: FileContext) -> Iterator[Violation]:
        yield ctx.violation(ctx.tree.body[0])

    outcome, _ = check_python("app/x.py", "x = 1\n", [_rule(crashes, "PF991"), _rule(fires, "PF992")])
    assert [f.code for f in outcome.findings] == ["PF992"]
    assert outcome.internal_errors == ["app/x.py: internal error in PF991 (ValueError: boom)"]


def test_requires_gate_skips_files_that_cannot_match() -> None:
    seen: list[str] = []

    def record(ctx: FileContext) -> Iterator[Violation]:
        seen.append(ctx.path)
        return iter(())

    rule = _rule(record, requires=("httpx",))
    check_python("a.py", "import requests\n", [rule])
    check_python("b.py", "import httpx2 as h\n", [rule])
    assert seen == ["b.py"]


def test_text_rules_run_only_on_their_globs() -> None:
    def every_line(ctx: TextContext) -> Iterator[Violation]:
        yield ctx.violation_at(1)

    rule = _rule(every_line, kind="text", files=("Dockerfile", "*.sh"))
    assert [f.code for f in check_text("ops/Dockerfile", "FROM x\n", [rule]).findings] == ["PF990"]
    assert check_text("Procfile", "web: x\n", [rule]).findings == []
    assert check_text("start.sh", "exec x  # noqa: PF990\n", [rule]).findings == []


@pytest.mark.parametrize(
    ("meta", "fragment"),
    [
        ({"code": "PF000"}, "reserved"),
        ({"code": "X100"}, "three digits"),
        ({"name": "Not_Kebab"}, "kebab-case"),
        ({"severity": "fatal"}, "severity"),
        ({"message": " "}, "message"),
        ({"docs": RuleDocs(what_it_does="x", why="", example="a", use_instead="b")}, "docs.why"),
        ({"fix": "production_fastapi.rules.x:Y"}, "fix_title"),
        (
            {"fix": "not a reference", "fix_title": "t", "fix_applicability": "safe",
             "docs": RuleDocs("x", "y", "a", "b", "safe")},
            "package",
        ),
        (
            {"fix": "production_fastapi.rules.x:Y", "fix_title": "t", "docs": RuleDocs("x", "y", "a", "b", "s")},
            "fix_applicability",
        ),
        ({"versions": "pydantic 2"}, "versions"),
    ],
)
def test_invalid_rule_definitions_fail_at_import_time(meta: dict[str, object], fragment: str) -> None:
    arguments: dict[str, object] = {
        "code": "PF993",
        "name": "invalid-rule",
        "severity": "warning",
        "message": "m",
        "docs": DOCS,
    }
    arguments.update(meta)
    with pytest.raises(RuleError, match=fragment):
        file_rule(**arguments)(lambda ctx: iter(()))  # type: ignore[arg-type]


# --- discovery ---------------------------------------------------------------------------------------------------


def _write(root: Path, relative: str, text: str = "import time\nasync def f():\n    time.sleep(1)\n") -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_discovery_skips_default_excludes_and_gitignored_paths(tmp_path: Path) -> None:
    for relative in (
        "app/main.py",
        ".venv/lib/site.py",
        "node_modules/pkg/x.py",
        "build/lib/app.py",
        "pkg.egg-info/x.py",
        "generated/models.py",
        "app/local_settings.py",
        "notes.txt",
    ):
        _write(tmp_path, relative)
    (tmp_path / ".gitignore").write_text("# comments are fine\ngenerated/\nlocal_*.py\n", encoding="utf-8")
    report = review_paths([tmp_path], config=Config(root=tmp_path), cache=False, jobs=1, select=["PF702"])
    assert sorted(Path(f.path).name for f in report.findings) == ["main.py"]
    assert report.files_checked == 1


def test_an_explicit_file_is_reviewed_even_when_excluded(tmp_path: Path) -> None:
    target = _write(tmp_path, "build/app.py")
    report = review_paths([target], config=Config(root=tmp_path), cache=False, jobs=1, select=["PF702"])
    assert [f.code for f in report.findings] == ["PF702"]


def test_a_missing_path_is_a_run_error(tmp_path: Path) -> None:
    report = review_paths([tmp_path / "nope"], cache=False)
    assert report.errors == [f"{tmp_path / 'nope'}: no such file or directory"]


def test_parallel_run_matches_in_process_run(tmp_path: Path) -> None:
    for i in range(60):
        body = "import time\nasync def f():\n    time.sleep(1)\n" if i % 3 == 0 else "def g():\n    return 1\n"
        _write(tmp_path, f"pkg/m{i:02d}.py", body)
    _write(tmp_path, "pkg/broken.py", "def (:\n")
    serial = review_paths([tmp_path], config=Config(root=tmp_path), cache=False, jobs=1, select=["PF702"])
    parallel = review_paths([tmp_path], config=Config(root=tmp_path), cache=False, jobs=2, select=["PF702"])
    assert parallel.findings == serial.findings
    assert len(serial.findings) == 21  # 20 sleepy modules and PF000 for the broken one
    assert parallel.files_checked == serial.files_checked == 61


def test_only_worker_processes_park_project_trees(tmp_path: Path) -> None:
    from production_fastapi.review import pool

    _write(tmp_path, "app/main.py", "from fastapi import FastAPI\n\napp = FastAPI()\n")
    review_paths([tmp_path], config=Config(root=tmp_path), cache=False, jobs=1)
    # In process (a library caller, the MCP server), a project's trees are freed with the job, never kept.
    assert not pool._worker.parks
    assert pool._worker.parked == []
    # In a worker they are parked until the next job starts, which frees them.
    state = pool._WorkerState(parks=True)
    job = pool.Job((pool.Task("app/main.py", (tmp_path / "app/main.py").read_bytes(), "python", ("PF301",),
                              1 << 20, "app.main"),), ("PF301",))
    previous, pool._worker = pool._worker, state
    try:
        pool.run_job(job)
        assert [ctx.path for ctx in state.parked] == ["app/main.py"]
        pool.run_job(pool.Job(job.tasks))
        assert state.parked == []
    finally:
        pool._worker = previous


def test_a_worker_that_dies_costs_only_its_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Simulates a native parser crash: the worker process exits hard while checking one file."""
    import os

    from production_fastapi.review import pool

    real = pool.check_task

    def crash_on_poison(task: pool.Task) -> object:
        if task.path.endswith("poison.py"):
            os._exit(139)
        return real(task)

    monkeypatch.setattr(pool, "check_task", crash_on_poison)
    for i in range(60):
        _write(tmp_path, f"pkg/m{i:02d}.py")
    _write(tmp_path, "pkg/poison.py", "x = 1\n")
    report = review_paths([tmp_path], config=Config(root=tmp_path), cache=False, jobs=2, select=["PF702"])
    assert report.errors == []
    poisoned = [f for f in report.findings if f.path.endswith("poison.py")]
    assert [(f.code, "crashed" in f.message) for f in poisoned] == [("PF000", True)]
    assert sum(1 for f in report.findings if f.code == "PF702") == 60


def test_projects_run_in_parallel_with_the_same_results(tmp_path: Path) -> None:
    """Three projects, project rules included: one job per project, the same findings as in process."""
    for project in ("alpha", "beta", "gamma"):
        root = tmp_path / project
        _write(root, "pyproject.toml", f'[project]\nname = "{project}"\n')
        _write(root, "app/main.py", "from fastapi import FastAPI\n\napp = FastAPI()\n")
        for i in range(20):
            _write(root, f"app/m{i:02d}.py")
    serial = review_paths([tmp_path], cache=False, jobs=1, extend_select=["PF301"])
    parallel = review_paths([tmp_path], cache=False, jobs=2, extend_select=["PF301"])
    assert parallel.findings == serial.findings
    assert parallel.errors == serial.errors == []
    assert sum(1 for f in serial.findings if f.code == "PF301") == 3
    assert sum(1 for f in serial.findings if f.code == "PF702") == 60


def test_every_area_module_registers_rules_of_its_own_area() -> None:
    from production_fastapi.rules import AREA_MODULES, AREAS, all_rules

    modules = {rule.module.rpartition(".")[2] for rule in all_rules()}
    assert set(AREA_MODULES) <= modules
    for rule in all_rules():
        assert rule.area == AREAS[rule.code[2]]
    assert len({rule.name for rule in all_rules()}) == len(all_rules())


def test_a_dominant_project_is_split_across_workers_with_the_same_results(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from production_fastapi.review import pool

    _write(tmp_path, "pyproject.toml", '[project]\nname = "big"\n')
    _write(tmp_path, "app/main.py", "from fastapi import FastAPI\nfrom app.m000 import router\n\napp = FastAPI()\n")
    _write(tmp_path, "app/m000.py", "from fastapi import APIRouter\nrouter = APIRouter()\n")
    for i in range(1, 140):
        _write(tmp_path, f"app/m{i:03d}.py")
    seen: list[tuple[int, int]] = []
    real = pool.split_project_job

    def spy(job: pool.Job, pieces: int) -> list[pool.Job]:
        split = real(job, pieces)
        seen.append((len(split), sum(t.check for t in split[0].tasks)))
        return split

    monkeypatch.setattr("production_fastapi.review.runner.split_project_job", spy)
    serial = review_paths([tmp_path], cache=False, jobs=1, extend_select=["PF301"])
    parallel = review_paths([tmp_path], cache=False, jobs=2, extend_select=["PF301"])
    # Split once: the owner keeps the two files importing fastapi (project rules see only those), the 139
    # others go to chunks; nothing is parsed twice.
    assert seen[0][1] == 2
    assert seen[0][0] > 2
    assert parallel.findings == serial.findings
    assert sum(1 for f in serial.findings if f.code == "PF702") == 139
    assert sum(1 for f in serial.findings if f.code == "PF301") == 1


@pytest.mark.parametrize(
    ("source", "gated_in"),
    [
        ("user.dict()", True),
        ("user . dict ()", True),
        ("user.\\\n    dict()", True),
        ("(user.  # the model\n    dict())", True),
        ("Model.parse_obj(data)", True),
        ("user.dictionary()", False),
        ("dict(user)", False),
        ("x = 1  # a comment.\n", False),
    ],
)
def test_pf601_text_gate_follows_every_spelling_of_a_method_call(source: str, gated_in: bool) -> None:
    from production_fastapi.rules.pydantic import _V1_METHOD_CALL

    assert (_ctx(source).search(_V1_METHOD_CALL) is not None) is gated_in


def test_the_split_prescan_never_misses_an_import() -> None:
    from production_fastapi.review.pool import may_import

    gate = frozenset({"fastapi", "httpx"})
    # Every way a file can import a gated module, including the ones a line-start scan misses.
    for text in ["import os; import fastapi\n", "if TYPE_CHECKING: from fastapi import FastAPI\n",
                 "from \\\n    fastapi import FastAPI\n", "import httpx2\n", "import os, fastapi.responses\n"]:
        assert may_import(text.encode(), gate), text
    fullwidth = "".join(chr(0xFF00 + ord(c) - 0x20) for c in "fastapi")
    assert may_import(f"import {fullwidth}\n".encode(), gate)
    assert not may_import(b"import os\nimport myfastapi  # a different package\n", frozenset({"fastapi"}))
    assert not may_import(b"import fastapi\n", frozenset())
