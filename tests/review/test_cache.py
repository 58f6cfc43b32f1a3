"""The content-hash cache: reused when nothing changed, bypassed when content, rules or config change."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from production_fastapi.review import Config, cache, review_paths
from production_fastapi.review.cache import CACHE_DIR_NAME, cache_location

SLEEPY = "import time\n\n\nasync def f() -> None:\n    time.sleep(1)\n"


def _setup(tmp_path: Path) -> Path:
    app = tmp_path / "app"
    app.mkdir()
    (app / "main.py").write_text(SLEEPY, encoding="utf-8")
    (app / "clean.py").write_text("x = 1\n", encoding="utf-8")
    return app


def _cache_dir(root: Path) -> Path:
    """The per-user cache folder of the project at ``root`` (XDG_CACHE_HOME is a temporary folder in tests)."""
    base, below = cache_location(root, None)
    return base.joinpath(*below)


def _cache_files(tmp_path: Path) -> list[Path]:
    return sorted(_cache_dir(tmp_path).glob("v*.json"))


def _entries(cache_file: Path) -> dict[str, Any]:
    """The entries of a cache file (its first line is the MAC)."""
    _, _, body = cache_file.read_bytes().partition(b"\n")
    loaded = json.loads(body)
    assert isinstance(loaded, dict)
    return loaded


def _write_signed(cache_file: Path, entries: dict[str, Any]) -> None:
    """What this user's own reviewer would write: signed with the per-user key."""
    key = cache._user_key(cache.user_cache_home())
    assert key is not None
    cache_file.write_bytes(cache._sign(key, json.dumps(entries).encode()))


def _plant(cache_file: Path, message: str) -> None:
    """Rewrite every cached finding's message (signed as ours): a later run that shows it provably read the cache."""
    entries = _entries(cache_file)
    for rows, _modules, _parsed in entries.values():
        for row in rows:
            row[8] = message
    _write_signed(cache_file, entries)


def test_a_warm_run_reads_the_cache_and_a_changed_file_is_rechecked(tmp_path: Path) -> None:
    app = _setup(tmp_path)
    config = Config(root=tmp_path)
    cold = review_paths([app], config=config, select=["PF702"], jobs=1)
    assert [f.code for f in cold.findings] == ["PF702"]
    (cache_file,) = _cache_files(tmp_path)
    assert (_cache_dir(tmp_path) / ".gitignore").read_text().endswith("*\n")
    assert (_cache_dir(tmp_path) / "CACHEDIR.TAG").read_text().startswith("Signature: 8a477f597d28d172789f068")
    assert not (tmp_path / CACHE_DIR_NAME).exists()  # nothing is written into the reviewed folder

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
    assert isinstance(_entries(cache_file), dict)


def test_cache_dir_option_and_project_results_are_cached(tmp_path: Path) -> None:
    app = _setup(tmp_path)
    (app / "api.py").write_text("from fastapi import FastAPI\n\napp = FastAPI()\n", encoding="utf-8")
    elsewhere = tmp_path / "cache-here"
    config = Config(root=tmp_path)
    cold = review_paths([app], config=config, jobs=1, cache_dir=elsewhere, extend_select=["PF301"])
    warm = review_paths([app], config=config, jobs=1, cache_dir=elsewhere, extend_select=["PF301"])
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
    cold = review_paths([tmp_path], cache_dir=shared, jobs=1, extend_select=["PF301"])
    jobs: list[object] = []
    real = pool.run_job

    def spy(job: pool.Job) -> pool.JobResult:
        jobs.append(job)
        return real(job)

    monkeypatch.setattr(pool, "run_job", spy)
    warm = review_paths([tmp_path], cache_dir=shared, jobs=1, extend_select=["PF301"])
    assert jobs == []  # no file parsed, no project rule re-run
    assert warm.findings == cold.findings
    assert {f.code for f in warm.findings} >= {"PF301", "PF702"}


def test_the_cache_lives_outside_the_checkout_under_xdg_cache_home(tmp_path: Path) -> None:
    app = _setup(tmp_path)
    before = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*"))
    review_paths([app], config=Config(root=tmp_path), select=["PF702"], jobs=1)
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*")) == before
    base = Path(os.environ["XDG_CACHE_HOME"]) / "production-fastapi" / "projects"
    assert _cache_dir(tmp_path).parent == base
    assert _cache_files(tmp_path)
    # Two projects never share a folder, even with the same folder name.
    other = tmp_path / "x" / tmp_path.name
    other.mkdir(parents=True)
    assert _cache_dir(other) != _cache_dir(tmp_path)


def test_the_environment_variable_chooses_the_cache_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    app = _setup(tmp_path)
    chosen = tmp_path.parent / f"{tmp_path.name}-env-cache"
    monkeypatch.setenv("PRODUCTION_FASTAPI_CACHE_DIR", str(chosen))
    review_paths([app], config=Config(root=tmp_path), select=["PF702"], jobs=1)
    assert list(chosen.glob("v*.json"))


def test_a_cache_shipped_in_the_repository_hides_nothing(tmp_path: Path) -> None:
    """A checkout carrying a .production-fastapi-cache with emptied entries (or links in it) is not read."""
    app = _setup(tmp_path)
    config = Config(root=tmp_path)
    # What an attacker would ship: the cache a real run writes, every entry emptied, placed in the checkout.
    review_paths([app], config=config, select=["PF702"], jobs=1, cache_dir=tmp_path / CACHE_DIR_NAME)
    (planted,) = (tmp_path / CACHE_DIR_NAME).glob("v*.json")
    planted.write_bytes(json.dumps({key: [[], [], True] for key in _entries(planted)}).encode())
    report = review_paths([app], config=config, select=["PF702"], jobs=1)
    assert [f.code for f in report.findings] == ["PF702"]


def test_links_planted_in_a_cache_folder_are_never_followed(tmp_path: Path) -> None:
    """A dangling CACHEDIR.TAG or .gitignore link, and a link in place of the cache file, write nothing outside."""
    app = _setup(tmp_path)
    outside = tmp_path / "outside"
    outside.mkdir()
    victim = outside / "victim.txt"
    victim.write_text("keep me\n")
    cache = tmp_path / "chosen-cache"
    cache.mkdir()
    (cache / "CACHEDIR.TAG").symlink_to(outside / "created-by-tag")
    (cache / ".gitignore").symlink_to(outside / "created-by-gitignore")
    config = Config(root=tmp_path)
    review_paths([app], config=config, select=["PF702"], jobs=1, cache_dir=cache)
    (cache_file,) = cache.glob("v*.json")
    cache_file.unlink()
    cache_file.symlink_to(victim)  # the next save must replace the link, not write through it
    (app / "main.py").write_text(SLEEPY + "\n")
    review_paths([app], config=config, select=["PF702"], jobs=1, cache_dir=cache)
    assert sorted(p.name for p in outside.iterdir()) == ["victim.txt"]
    assert victim.read_text() == "keep me\n"
    assert not cache_file.is_symlink()


def test_a_cache_folder_link_in_the_per_user_tree_is_refused(tmp_path: Path) -> None:
    """Even in the per-user tree, the project folder is opened without following a link (written nowhere else)."""
    app = _setup(tmp_path)
    outside = tmp_path / "outside"
    outside.mkdir()
    folder = _cache_dir(tmp_path)
    folder.parent.mkdir(parents=True)
    folder.symlink_to(outside, target_is_directory=True)
    report = review_paths([app], config=Config(root=tmp_path), select=["PF702"], jobs=1)
    assert [f.code for f in report.findings] == ["PF702"]
    assert report.errors == []
    assert list(outside.iterdir()) == []


def test_a_cache_folder_link_in_the_checkout_sends_nothing_elsewhere(tmp_path: Path) -> None:
    """The red team's planted ``.production-fastapi-cache`` link: the default cache is elsewhere, so it is unused."""
    app = _setup(tmp_path)
    outside = tmp_path.parent / f"{tmp_path.name}-outside"
    outside.mkdir()
    (tmp_path / CACHE_DIR_NAME).symlink_to(outside, target_is_directory=True)
    review_paths([app], config=Config(root=tmp_path), select=["PF702"], jobs=1)
    assert list(outside.iterdir()) == []
    assert _cache_files(tmp_path)


@pytest.mark.parametrize("signature", ["unsigned", "another-key", "ours-but-edited"])
def test_a_planted_cache_in_a_chosen_folder_hides_nothing(tmp_path: Path, signature: str) -> None:
    """A --cache-dir inside a checkout: the keys are content hashes anyone can compute, so an attacker can write
    emptied entries for the right keys. Only a file signed with this user's key is read."""
    app = _setup(tmp_path)
    chosen = tmp_path / "ci-cache"
    config = Config(root=tmp_path)
    review_paths([app], config=config, select=["PF702"], jobs=1, cache_dir=chosen)
    (cache_file,) = chosen.glob("v*.json")
    emptied = {key: [[], [], True] for key in _entries(cache_file)}
    body = json.dumps(emptied).encode()
    if signature == "unsigned":
        cache_file.write_bytes(body)
    elif signature == "another-key":
        cache_file.write_bytes(cache._sign(b"k" * 32, body))
    else:
        key = cache._user_key(cache.user_cache_home())
        assert key is not None
        signed = cache._sign(key, json.dumps(_entries(cache_file)).encode())
        cache_file.write_bytes(signed.replace(b'"PF702"', b'"PF000"'))  # one byte changed after signing
    report = review_paths([app], config=config, select=["PF702"], jobs=1, cache_dir=chosen)
    assert [f.code for f in report.findings] == ["PF702"]


def test_the_signing_key_is_private_to_the_user(tmp_path: Path) -> None:
    _setup(tmp_path)
    review_paths([tmp_path / "app"], config=Config(root=tmp_path), select=["PF702"], jobs=1)
    key = cache.user_cache_home() / "key"
    assert key.stat().st_mode & 0o777 == 0o600
    assert len(key.read_bytes()) == 32
