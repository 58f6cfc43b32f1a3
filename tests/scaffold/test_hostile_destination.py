"""The scaffolder when others touch the destination meanwhile (issue 13): real processes, a real kill -9, files
created mid-run, a watcher that looks for a moment with no destination, names that shadow installed packages.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from production_fastapi.cli import main
from production_fastapi.fsaccess import RENAME_EXCHANGE, rename_flags
from production_fastapi.scaffold import ScaffoldError, generate
from production_fastapi.scaffold.atomic import STAGING_MARKER

pytestmark = pytest.mark.skipif(os.name == "nt", reason="flock, descriptors and signals are POSIX here")

# Runs generate() and SIGKILLs itself while writing the tenth file: what a crash leaves behind.
_KILL_MIDWAY = """
import os, signal, sys
from production_fastapi.scaffold import atomic, generate
calls = 0
real = atomic._write_file
def write(*args):
    global calls
    calls += 1
    if calls == 10:
        os.kill(os.getpid(), signal.SIGKILL)
    real(*args)
atomic._write_file = write
generate("svc", sys.argv[1])
"""


def _with_hook(name: str, action: object) -> object:
    """A profile hook that runs ``action`` once, when the scaffolder first calls the function ``name``."""
    fired = False

    def hook(frame: object, event: str, arg: object) -> None:
        nonlocal fired
        code = getattr(frame, "f_code", None)
        if not fired and event == "call" and code is not None and code.co_name == name:
            fired = True
            action()  # type: ignore[operator]

    return hook


def test_a_file_created_in_the_destination_mid_run_survives(tmp_path: Path) -> None:
    dest = tmp_path / "svc"
    dest.mkdir()
    sys.setprofile(_with_hook("_write_file", lambda: (dest / "mine.txt").write_text("mine\n")))  # type: ignore[arg-type]
    try:
        with pytest.raises(ScaffoldError, match=r"files appeared in .* while scaffolding; nothing was replaced"):
            generate("svc", dest)
    finally:
        sys.setprofile(None)
    assert sorted(p.name for p in dest.iterdir()) == ["mine.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["svc"]  # the staging folder is gone


def test_a_file_created_mid_force_survives_in_the_new_tree(tmp_path: Path) -> None:
    dest = tmp_path / "svc"
    dest.mkdir()
    (dest / "old.txt").write_text("old\n")
    sys.setprofile(_with_hook("_write_file", lambda: (dest / "mine.txt").write_text("mine\n")))  # type: ignore[arg-type]
    try:
        generate("svc", dest, force=True)
    finally:
        sys.setprofile(None)
    assert not (dest / "old.txt").exists()  # what --force was asked to replace
    assert (dest / "mine.txt").read_text() == "mine\n"  # what appeared meanwhile: not ours to delete
    assert (dest / "svc" / "app.py").is_file()
    assert [p.name for p in tmp_path.iterdir()] == ["svc"]


def test_a_destination_holding_only_ds_store_keeps_it(tmp_path: Path) -> None:
    dest = tmp_path / "svc"
    dest.mkdir()
    (dest / ".DS_Store").write_bytes(b"finder state")
    generate("svc", dest)
    assert (dest / ".DS_Store").read_bytes() == b"finder state"
    assert (dest / "svc" / "app.py").is_file()
    assert not (dest / STAGING_MARKER).exists()


@pytest.mark.timeout(120)
def test_a_killed_run_leaves_staging_that_the_next_run_cleans(tmp_path: Path) -> None:
    dest = tmp_path / "svc"
    done = subprocess.run([sys.executable, "-c", _KILL_MIDWAY, str(dest)], timeout=60, check=False)
    assert done.returncode == -signal.SIGKILL
    leftovers = [p for p in tmp_path.iterdir() if p.name.startswith(".svc.scaffold-")]
    assert len(leftovers) == 1
    assert (leftovers[0] / STAGING_MARKER).is_file()
    assert not dest.exists()
    foreign = tmp_path / ".svc.scaffold-mine"  # the same pattern, but no marker: not ours
    foreign.mkdir()
    (foreign / "keep.txt").write_text("keep\n")
    generate("svc", dest)
    assert sorted(p.name for p in tmp_path.iterdir()) == [".svc.scaffold-mine", "svc"]
    assert (foreign / "keep.txt").read_text() == "keep\n"


@pytest.mark.timeout(180)
def test_concurrent_processes_for_one_destination_create_one_project(tmp_path: Path) -> None:
    dest = tmp_path / "svc"
    command = [sys.executable, "-m", "production_fastapi", "scaffold", "svc", "--dest", str(dest)]
    processes = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(4)]
    outcomes = []
    for process in processes:
        _, err = process.communicate(timeout=120)
        outcomes.append((process.returncode, err))
    assert sorted(code for code, _ in outcomes) == [0, 2, 2, 2]
    for code, err in outcomes:
        if code == 2:
            assert "is not empty" in err
            assert err.count("\n") == 1
    assert (dest / "svc" / "app.py").is_file()
    assert [p.name for p in tmp_path.iterdir()] == ["svc"]


@pytest.mark.timeout(120)
def test_force_never_leaves_a_moment_without_a_destination(tmp_path: Path) -> None:
    probe = os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY)
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    exchange = rename_flags(probe, "a", probe, "b", RENAME_EXCHANGE)
    os.close(probe)
    if not exchange:
        pytest.skip("no renameat2(RENAME_EXCHANGE) here: --force takes the documented two-rename fallback")
    dest = tmp_path / "svc"
    generate("svc", dest)
    missing = 0
    looks = 0
    stop = threading.Event()

    def watch() -> None:
        nonlocal missing, looks
        while not stop.is_set():
            looks += 1
            if not os.path.isdir(dest):
                missing += 1

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        for _ in range(5):
            (dest / "notes.txt").write_text("old\n")
            generate("svc", dest, force=True)
    finally:
        stop.set()
        watcher.join(10)
    assert looks > 100
    assert missing == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "b", "svc"]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("pydantic-core", "would hide a module the service itself imports"),
        ("typing_extensions", "would hide a module the service itself imports"),
        ("fastapi", "would hide a module the service itself imports"),
        ("json", "standard-library module 'json'"),
        ("jinja2", "would hide a module the service itself imports"),
        ("pytest-timeout", "would hide the installed package 'pytest_timeout'"),
    ],
)
def test_names_that_shadow_packages_are_refused(tmp_path: Path, name: str, expected: str) -> None:
    with pytest.raises(ScaffoldError, match=expected):
        generate(name, tmp_path / "x")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["a" * 300], "project name is 300 characters long, over the 64-character limit"),
        (["svc", "--dest", "/tmp/" + "d/" * 2100], "over the 4,096 limit"),
        (["svc", "--dest", "/tmp/" + "n" * 300], "over 255 bytes"),
    ],
    ids=["long-name", "long-destination", "long-component"],
)
def test_over_long_input_is_one_error_line(argv: list[str], expected: str, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["scaffold", *argv])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1, err
    assert expected in err


def test_a_destination_swapped_for_a_link_under_the_lock_is_refused(tmp_path: Path) -> None:
    """Between the check and the write the destination became a link: refused, the link's target untouched."""
    dest = tmp_path / "svc"
    dest.mkdir()
    outside = tmp_path / "outside"
    outside.mkdir()

    def swap() -> None:
        dest.rmdir()
        dest.symlink_to(outside, target_is_directory=True)

    sys.setprofile(_with_hook("_clean_stale", swap))
    try:
        with pytest.raises(ScaffoldError, match="became a symbolic link; nothing was written"):
            generate("svc", dest)
    finally:
        sys.setprofile(None)
    assert list(outside.iterdir()) == []


def test_the_parent_swapped_mid_write_is_never_reported_created(tmp_path: Path) -> None:
    """The parent is replaced while files are written: the scaffold fails, and nothing lands in the new parent."""
    parent = tmp_path / "parent"
    parent.mkdir()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()

    def swap() -> None:
        os.rename(parent, tmp_path / "moved-away")
        parent.symlink_to(elsewhere, target_is_directory=True)

    sys.setprofile(_with_hook("_write_file", swap))
    try:
        with pytest.raises(ScaffoldError, match="was replaced while scaffolding"):
            generate("svc", parent / "svc")
    finally:
        sys.setprofile(None)
    assert list(elsewhere.iterdir()) == []
    assert list((tmp_path / "moved-away").iterdir()) == []  # staging removed from the folder it was made in
