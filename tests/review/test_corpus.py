"""Real-world code never crashes the reviewer (zero run errors, no internal rule errors).

CI reviews real installed libraries (FastAPI, Starlette, uvicorn, httpx from site-packages: always present) and,
when the corpus is downloaded, its smallest package. ``-m slow`` reviews the whole corpus
(``python3 scripts/corpus.py corpus full``, about 2.1M lines) and all of site-packages.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import installed_package_dir

from production_fastapi.review import Config, review_paths

REPO = Path(__file__).resolve().parents[2]
CORPUS = REPO / "corpus"


def _assert_clean_run(paths: list[Path], root: Path) -> int:
    report = review_paths(paths, config=Config(root=root), cache=False, jobs=2)
    assert report.errors == [], report.errors[:5]
    assert report.files_checked > 0
    unparsed = [f for f in report.findings if f.code == "PF000" and "syntax error" not in f.message]
    assert unparsed == [], unparsed[:5]
    return report.files_checked


def test_installed_web_stack_reviews_without_errors() -> None:
    packages = [installed_package_dir(name) for name in ("fastapi", "starlette", "uvicorn", "httpx")]
    checked = _assert_clean_run(packages, packages[0].parent)
    assert checked > 150


def test_smallest_corpus_package() -> None:
    package = CORPUS / "fastapi_users"
    if not package.is_dir():
        pytest.skip("corpus not downloaded: python3 scripts/corpus.py corpus ci")
    assert _assert_clean_run([package], package) > 10


@pytest.mark.slow
def test_full_corpus() -> None:
    packages = (
        sorted(p for p in CORPUS.iterdir() if p.is_dir() and not p.name.startswith(".")) if CORPUS.is_dir() else []
    )
    if len(packages) < 8:
        pytest.skip("full corpus not downloaded: python3 scripts/corpus.py corpus full")
    assert _assert_clean_run(packages, CORPUS) > 6000


@pytest.mark.slow
def test_all_of_site_packages() -> None:
    site = installed_package_dir("fastapi").parent
    assert _assert_clean_run([site], site) > 1000
