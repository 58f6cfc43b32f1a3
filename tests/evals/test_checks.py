"""The pristine hidden-test run: what counts as a failed check and what as an infrastructure error."""

from __future__ import annotations

from pathlib import Path

from pf_evals_helpers import write

from production_fastapi.evals.checks import run_checks
from production_fastapi.evals.tasks import Task, materialize

ALL_CHECKS = {"requested:test_pong", "unrequested:test_served_by_header", "starter:test_ping.py::test_ping"}


def test_agent_files_cannot_change_how_checks_run(tiny_task: Task, tmp_path: Path) -> None:
    tree = materialize(tiny_task, "oracle", tmp_path / "tree")
    # An agent's conftest that fails everything, a pytest config that errors on warnings, an edited starter test:
    sabotage = "import pytest\n\n@pytest.fixture(autouse=True)\ndef sabotage():\n    raise RuntimeError\n"
    write(tree / "conftest.py", sabotage)
    write(tree / "pyproject.toml", '[tool.pytest.ini_options]\naddopts = "-x --bogus-flag"\n')
    write(tree / "tests/test_ping.py", "def test_ping() -> None:\n    assert False\n")
    before = sorted(p.relative_to(tree).as_posix() for p in tree.rglob("*"))
    run = run_checks(tiny_task, tree)
    assert run.infra_error is None
    assert run.failed() == set()
    assert run.passed() == ALL_CHECKS
    # Graded from a copy: the tree itself is left as it was.
    assert sorted(p.relative_to(tree).as_posix() for p in tree.rglob("*")) == before


def test_broken_agent_code_fails_checks_not_infrastructure(tiny_task: Task, tmp_path: Path) -> None:
    tree = materialize(tiny_task, "oracle", tmp_path / "tree")
    write(tree / "app/main.py", "def broken(:\n")
    run = run_checks(tiny_task, tree)
    assert run.infra_error is None
    assert run.failed() == ALL_CHECKS


def test_missing_third_party_module_is_an_infrastructure_error(tiny_task: Task, tmp_path: Path) -> None:
    tree = materialize(tiny_task, "oracle", tmp_path / "tree")
    main = tree / "app/main.py"
    main.write_text("import pf_eval_no_such_dependency\n" + main.read_text())
    run = run_checks(tiny_task, tree)
    assert run.infra_error is not None
    assert "missing dependency 'pf_eval_no_such_dependency'" in run.infra_error


def test_a_hung_run_is_an_infrastructure_error(tiny_task: Task, tmp_path: Path) -> None:
    tree = materialize(tiny_task, "oracle", tmp_path / "tree")
    main = tree / "app/main.py"
    main.write_text("import time\ntime.sleep(30)\n" + main.read_text())
    run = run_checks(tiny_task, tree, timeout=4)
    assert run.infra_error == "hidden tests did not finish within 4 s"

