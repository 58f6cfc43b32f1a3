"""The content-hash cache: reused when nothing changed, bypassed when content, rules or config change."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from production_fastapi.review import Config, review_paths
from production_fastapi.review.cache import CACHE_DIR_NAME

SLEEPY = "import time\n\n\nasync def f() -> None:\n    time.sleep(1)\n"


def _setup(tmp_path: Path) -> Path:
    app = tmp_path / "app"
    app.mkdir()
    (app / "main.py").write_text(SLEEPY, encoding="utf-8")
    (app / "clean.py").write_text("x = 1\n", encoding="utf-8")
    return app


def _cache_files(tmp_path: Path) -> list[Path]:
    return sorted((tmp_path / CACHE_DIR_NAME).glob("v*.json"))


def _plant(cache_file: Path, message: str) -> None:
    """Rewrite every cached finding's message: a later run that shows it provably read the cache."""
    entries = json.loads(cache_file.read_text())
    for rows, _modules, _parsed in entries.values():
        for row in rows:
            row[8] = message
    cache_file.write_text(json.dumps(entries))


def test_a_warm_run_reads_the_cache_and_a_changed_file_is_rechecked(tmp_path: Path) -> None:
    app = _setup(tmp_path)
    config = Config(root=tmp_path)
    cold = review_paths([app], config=config, select=["PF702"], jobs=1)
    assert [f.code for f in cold.findings] == ["PF702"]
    (cache_file,) = _cache_files(tmp_path)
    assert (tmp_path / CACHE_DIR_NAME / ".gitignore").read_text().endswith("*\n")
    assert (tmp_path / CACHE_DIR_NAME / "CACHEDIR.TAG").read_text().startswith("Signature: 8a477f597d28d172789f068")

    _plant(cache_file, "from the cache")
    warm = review_paths([app], config=config, select=["PF702"], jobs=1)
    assert [f.message for f in warm.findings] == ["from the cache"]
    assert warm.files_checked == 2

    (app / "main.py").write_text(SLEEPY + "\n", encoding="utf-8")  # same findings, different bytes
    rechecked = review_paths([app], config=config, select=["PF702"], jobs=1)
    assert [f.message for f in rechecked.findings] == [cold.findings[0].message]


def test_no_cache_neither_reads_nor_writes(tmp_path: Path) -> None:
    app = _setup(tmp_path)
    config = Config(root=tmp_path)
    review_paths([app], config=config, select=["PF702"], jobs=1)
    (cache_file,) = _cache_files(tmp_path)
    _plant(cache_file, "from the cache")
    before = cache_file.read_text()
    fresh = review_paths([app], config=config, select=["PF702"], jobs=1, cache=False)
    assert [f.message for f in fresh.findings] != ["from the cache"]
    assert cache_file.read_text() == before


def test_a_different_selection_does_not_reuse_results(tmp_path: Path) -> None:
    app = _setup(tmp_path)
    config = Config(root=tmp_path)
    assert len(review_paths([app], config=config, select=["PF702"], jobs=1).findings) == 1
    assert review_paths([app], config=config, select=["PF201"], jobs=1).findings == []
    assert len(_cache_files(tmp_path)) == 2


def test_a_corrupt_cache_is_ignored_and_rewritten(tmp_path: Path) -> None:
    app = _setup(tmp_path)
    config = Config(root=tmp_path)
    review_paths([app], config=config, select=["PF702"], jobs=1)
    (cache_file,) = _cache_files(tmp_path)
    cache_file.write_text("{not json")
    again = review_paths([app], config=config, select=["PF702"], jobs=1)
    assert [f.code for f in again.findings] == ["PF702"]
    assert isinstance(json.loads(cache_file.read_text()), dict)


def test_cache_dir_option_and_project_results_are_cached(tmp_path: Path) -> None:
    app = _setup(tmp_path)
    (app / "api.py").write_text("from fastapi import FastAPI\n\napp = FastAPI()\n", encoding="utf-8")
    elsewhere = tmp_path / "cache-here"
    config = Config(root=tmp_path)
    cold = review_paths([app], config=config, jobs=1, cache_dir=elsewhere)
    warm = review_paths([app], config=config, jobs=1, cache_dir=elsewhere)
    assert warm.findings == cold.findings
    assert any(f.code == "PF301" for f in cold.findings)  # a project rule's result survives the cache round trip
    assert list(elsewhere.glob("v*.json"))
    assert not (tmp_path / CACHE_DIR_NAME).exists()


def test_an_unwritable_cache_directory_is_not_an_error(tmp_path: Path) -> None:
    app = _setup(tmp_path)
    blocker = tmp_path / "blocked"
    blocker.write_text("a file where the cache directory would go")
    report = review_paths([app], config=Config(root=tmp_path), select=["PF702"], jobs=1, cache_dir=blocker)
    assert report.errors == []
    assert [f.code for f in report.findings] == ["PF702"]


def test_a_warm_run_checks_nothing_even_with_two_roots_sharing_a_cache_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from production_fastapi.review import pool

    for name in ("svc_a", "svc_b"):
        root = tmp_path / name
        (root / "app").mkdir(parents=True)
        (root / "pyproject.toml").write_text(f'[project]\nname = "{name}"\n')
        (root / "app" / "main.py").write_text("from fastapi import FastAPI\n\napp = FastAPI()\n" + SLEEPY)
    shared = tmp_path / "shared-cache"
    cold = review_paths([tmp_path], cache_dir=shared, jobs=1)
    jobs: list[object] = []
    real = pool.run_job

    def spy(job: pool.Job) -> pool.JobResult:
        jobs.append(job)
        return real(job)

    monkeypatch.setattr(pool, "run_job", spy)
    warm = review_paths([tmp_path], cache_dir=shared, jobs=1)
    assert jobs == []  # no file parsed, no project rule re-run
    assert warm.findings == cold.findings
    assert {f.code for f in warm.findings} >= {"PF301", "PF702"}
