"""What evals/runs/ may hold: lean trial records only, every stored byte once, no copy of a template."""

from __future__ import annotations

from pathlib import Path

from production_fastapi import bundle
from production_fastapi.evals.paths import evals_root
from production_fastapi.evals.record import duplicate_files

RUNS = evals_root() / "runs"


def test_no_file_in_evals_runs_is_stored_twice() -> None:
    duplicates = duplicate_files(RUNS)
    assert not duplicates, (
        "the same bytes are stored more than once under evals/runs/ (record trials of one measurement into one run "
        f"folder so they share its blobs/): {duplicates}"
    )


def test_duplicate_scan_finds_copies_across_trials(tmp_path: Path) -> None:
    for trial in ("a/baseline/1", "a/skill/1", "b/skill/2"):
        (tmp_path / trial).mkdir(parents=True)
        (tmp_path / trial / "result.json").write_text(trial)
    (tmp_path / "a/baseline/1/main.py").write_text("app = 1\n")
    (tmp_path / "b/skill/2/main.py").write_text("app = 1\n")
    assert duplicate_files(tmp_path) == [["a/baseline/1/main.py", "b/skill/2/main.py"]]


def test_recorded_runs_are_lean_and_copy_no_template() -> None:
    assert RUNS.is_dir()
    templates = {template.path.read_bytes() for template in bundle.list_templates()}
    for path in RUNS.rglob("*"):
        assert path.name != "files" or not path.is_dir(), f"{path}: a full tree; record trials leanly (eval record)"
        assert not (path.is_file() and path.read_bytes() in templates), f"{path} is a copy of a template"
