"""The shipped tasks follow the layout and cover what the issue asks: ten areas, feature/vague requests, two bad
variants each; malformed tasks fail with one clear message."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from pf_evals_helpers import build_tiny_task, write

from production_fastapi.evals.paths import tasks_root
from production_fastapi.evals.tasks import AREAS, Task, TaskError, load_task, load_tasks, materialize


def test_shipped_tasks_cover_every_area_with_discriminating_checks() -> None:
    tasks = load_tasks(tasks_root())
    assert len(tasks) >= 10
    assert {task.area for task in tasks} == set(AREAS)
    assert sum(task.kind in ("feature", "vague") for task in tasks) * 2 >= len(tasks)
    for task in tasks:
        checks = task.checks()
        assert any(c.startswith("requested:") for c in checks), task.id
        assert any(c.startswith("unrequested:") for c in checks), task.id
        assert len(task.bad) >= 2, task.id
        assert task.must_newly_pass(), task.id
        # Every variant fails an unrequested check or a rule: a bad variant is about what nobody asked for.
        for variant in task.bad:
            assert any(c.startswith(("unrequested:", "rule:")) for c in variant.fails), (task.id, variant.name)


def test_instructions_do_not_name_the_unrequested_technique() -> None:
    # A spec-complete instruction measures the agent, not the skill: the words that give the game away stay out.
    giveaways = ("timeout", "retry-after", "jitter", "nosniff", "non-root", "vary: origin", "413")
    for task in load_tasks(tasks_root()):
        text = task.instruction.lower()
        for word in giveaways:
            assert word not in text, f"{task.id} instruction names {word!r}"


def test_materialize_lays_bad_over_oracle_over_starter(tiny_task: Task, tmp_path: Path) -> None:
    tree = materialize(tiny_task, "bad/no-header", tmp_path / "tree")
    main = (tree / "app/main.py").read_text()
    assert "/pong" in main
    assert "add_middleware" not in main
    assert (tree / "tests/test_ping.py").is_file()
    assert not (tree / "variant.toml").exists()


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda t: (t / "bad/no-pong/variant.toml").unlink(), "variant.toml is missing"),
        (lambda t: write(t / "bad/no-pong/variant.toml", 'description = "x"\nfails = ["requested:test_nope"]\n'),
         "unknown checks requested:test_nope"),
        (lambda t: write(t / "task.toml", 'area = "frontend"\nkind = "feature"\napp = "app.main:app"\n'),
         "area must be one of"),
        (lambda t: write(t / "task.toml", 'area = "errors"\nkind = "feature"\napp = "app"\n'),
         "app must be the import string"),
        (lambda t: write(t / "tests/test_other.py", "def test_x() -> None:\n    pass\n"),
         "test_requested*.py or test_unrequested*.py"),
        (lambda t: write(t / "task.toml", 'area = "errors"\nkind = "feature"\napp = "a:b"\nstill_pass = ["x:y"]\n'),
         "still_pass names unknown check"),
        (lambda t: shutil.rmtree(t / "oracle"), "oracle is missing: add the reference solution there"),
    ],
)
def test_malformed_task_is_refused_with_a_clear_message(
    tmp_path: Path, mutate: Callable[[Path], object], message: str
) -> None:
    task = build_tiny_task(tmp_path)
    mutate(task)
    with pytest.raises(TaskError, match=message.replace("*", r"\*")):
        load_task(task)


def test_validate_command_names_unknown_tasks() -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "production_fastapi", "eval", "validate", "--task", "no-such-task"],
        capture_output=True, text=True, check=False,
    )
    assert completed.returncode == 2
    assert completed.stderr.startswith("production-fastapi eval: unknown task no-such-task; known: deploy-ready, ")


def test_an_oracle_made_only_of_templates_needs_no_oracle_folder(tmp_path: Path) -> None:
    """git keeps no empty folder: a task whose oracle is just templates must load from a fresh clone."""
    task = build_tiny_task(tmp_path)
    shutil.rmtree(task / "oracle")
    with (task / "task.toml").open("a") as meta:
        meta.write('\n[oracle]\ntemplates = ["request_context.py"]\ntemplates_into = "app"\n')
    loaded = load_task(task)
    tree = materialize(loaded, "oracle", tmp_path / "tree")
    assert (tree / "app/request_context.py").is_file()
    assert (tree / "app/main.py").is_file()
