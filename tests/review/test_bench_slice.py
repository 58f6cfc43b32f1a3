"""A small real run of ``benchmarks/review_bench.py``: the script the speed targets are measured with keeps working.

The full run (the 2.1M-line corpus, flake8-async, three runs each) lives in benchmarks/; this slice reviews two
installed packages as the corpus, once each, and checks the results file it writes.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from helpers import REPO, installed_package_dir


def test_review_benchmark_runs_on_a_small_corpus(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    for name in ("fastapi", "starlette"):
        target = corpus / f"{name}_pkg" / name
        shutil.copytree(installed_package_dir(name), target, ignore=shutil.ignore_patterns("*.pyc"))
    out = tmp_path / "review.md"
    done = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "review_bench.py"), "--corpus", str(corpus), "--runs", "1",
         "--skip-flake8-async", "--subset", "starlette_pkg", "--large-file", "fastapi_pkg/fastapi/routing.py",
         "--out", str(out)],
        capture_output=True, text=True, timeout=600, check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    text = out.read_text(encoding="utf-8")
    assert "corpus: 2 packages (fastapi_pkg, starlette_pkg)" in text
    assert "zero run errors" in text
    for row in ("| cold / ruff |", "| warm / ruff |", "| one project / ruff |", "-line file in process |"):
        assert row in text
    # The corpus was reviewed as a copy: nothing was written into the original folders.
    assert not list(corpus.rglob(".production-fastapi-cache"))
