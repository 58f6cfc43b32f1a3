"""Where the scaffolder writes: never over existing work without --force, all or nothing, one clear error line.

Every refusal goes through the real CLI (exit 2, one line on stderr) and must leave the file system exactly as it
was, which ``snapshot`` checks byte for byte (names, kinds, modes, contents).
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from production_fastapi.cli import main
from production_fastapi.scaffold import ScaffoldError, atomic, generate

Snapshot = dict[str, tuple[str, int, bytes]]


def snapshot(root: Path) -> Snapshot:
    """Every entry under ``root`` (included) with its kind, mode and content."""
    entries: Snapshot = {}
    for path in [root, *sorted(root.rglob("*"))]:
        info = path.lstat()
        kind = "dir" if stat.S_ISDIR(info.st_mode) else "file"
        content = path.read_bytes() if kind == "file" else b""
        entries[str(path.relative_to(root))] = (kind, stat.S_IMODE(info.st_mode), content)
    return entries


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["scaffold", *argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def assert_one_line_error(code: int, err: str, expected: str) -> None:
    assert code == 2
    assert err.count("\n") == 1, err
    assert err.startswith("production-fastapi scaffold: ")
    assert expected in err


def test_new_destination_gets_the_whole_project_and_nothing_else(tmp_path: Path) -> None:
    dest = tmp_path / "deep" / "orders"
    written = generate("orders-service", dest)
    assert all(path.is_absolute() and path.is_file() for path in written)
    on_disk = sorted(p for p in dest.rglob("*") if p.is_file())
    assert sorted(written) == on_disk
    assert {p.relative_to(dest).as_posix() for p in written} >= {
        "pyproject.toml",
        "README.md",
        ".env.example",
        "alembic.ini",
        "migrations/env.py",
        "orders_service/app.py",
        "orders_service/settings.py",
        "tests/conftest.py",
    }
    # Only the project: no staging or backup folders left beside it.
    assert [p.name for p in dest.parent.iterdir()] == ["orders"]
    # The project gets ordinary permissions, not mkdtemp's private 0700.
    assert stat.S_IMODE(dest.stat().st_mode) == 0o777 & ~atomic._umask()


def test_an_empty_destination_is_used(tmp_path: Path) -> None:
    (tmp_path / "svc").mkdir()
    generate("svc", tmp_path / "svc")
    assert (tmp_path / "svc" / "svc" / "app.py").is_file()


def test_invalid_name_exit_2_and_nothing_written(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = snapshot(tmp_path)
    code, out, err = run_cli(capsys, "import", "--dest", str(tmp_path / "x"))
    assert_one_line_error(code, err, "package name 'import', which is a Python keyword")
    assert out == ""
    assert snapshot(tmp_path) == before


def test_destination_is_a_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "taken").write_text("keep me\n", encoding="utf-8")
    before = snapshot(tmp_path)
    code, _, err = run_cli(capsys, "orders", "--dest", str(tmp_path / "taken"))
    assert_one_line_error(code, err, "exists and is not a folder")
    code, _, err = run_cli(capsys, "orders", "--dest", str(tmp_path / "taken"), "--force")
    assert_one_line_error(code, err, "exists and is not a folder")
    assert snapshot(tmp_path) == before


def test_parent_is_a_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "file").write_text("x", encoding="utf-8")
    before = snapshot(tmp_path)
    code, _, err = run_cli(capsys, "orders", "--dest", str(tmp_path / "file" / "sub" / "orders"))
    assert_one_line_error(code, err, "is not a folder")
    assert snapshot(tmp_path) == before


def test_non_empty_destination_needs_force(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    dest = tmp_path / "orders"
    dest.mkdir()
    (dest / "notes.txt").write_text("mine\n", encoding="utf-8")
    before = snapshot(tmp_path)
    code, _, err = run_cli(capsys, "orders", "--dest", str(dest))
    assert_one_line_error(code, err, "is not empty; pass --force")
    assert snapshot(tmp_path) == before


def test_force_swaps_the_old_content_out(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    dest = tmp_path / "orders"
    generate("orders", dest)
    (dest / "notes.txt").write_text("old\n", encoding="utf-8")
    code, out, err = run_cli(capsys, "orders", "--dest", str(dest), "--force", "--database", "postgres")
    assert (code, err) == (0, "")
    assert "scaffolded orders into" in out
    assert not (dest / "notes.txt").exists()
    assert "postgresql+asyncpg://" in (dest / ".env.example").read_text(encoding="utf-8")
    assert [p.name for p in tmp_path.iterdir()] == ["orders"], "no staging or backup left beside it"


def test_an_interrupted_run_leaves_nothing(tmp_path: Path) -> None:
    """Ctrl-C in the middle of writing files: the destination and its missing parents don't appear."""
    dest = tmp_path / "new-parent" / "orders"
    calls = 0

    def interrupt_on_tenth_copy(frame: object, event: str, arg: object) -> None:
        nonlocal calls
        code = getattr(frame, "f_code", None)
        if event == "call" and code is not None and code.co_name == "_write_file":
            calls += 1
            if calls == 10:
                raise KeyboardInterrupt

    before = snapshot(tmp_path)
    sys.setprofile(interrupt_on_tenth_copy)
    try:
        with pytest.raises(KeyboardInterrupt):
            generate("orders", dest)
    finally:
        sys.setprofile(None)
    assert calls == 10, "the interruption must happen mid-run"
    assert snapshot(tmp_path) == before


def test_an_interrupted_force_keeps_the_old_project(tmp_path: Path) -> None:
    dest = tmp_path / "orders"
    dest.mkdir()
    (dest / "notes.txt").write_text("old\n", encoding="utf-8")
    before = snapshot(tmp_path)

    def interrupt_rendering(frame: object, event: str, arg: object) -> None:
        code = getattr(frame, "f_code", None)
        if event == "call" and code is not None and code.co_name == "_write_file":
            raise KeyboardInterrupt

    sys.setprofile(interrupt_rendering)
    try:
        with pytest.raises(KeyboardInterrupt):
            generate("orders", dest, force=True)
    finally:
        sys.setprofile(None)
    assert snapshot(tmp_path) == before


@pytest.fixture
def readonly_parent(tmp_path: Path) -> Iterator[Path]:
    """A folder this process may not write in (root ignores permission bits, so root also marks it immutable)."""
    parent = tmp_path / "locked"
    parent.mkdir()
    (parent / "existing.txt").write_text("x", encoding="utf-8")
    parent.chmod(0o555)
    immutable = os.geteuid() == 0
    if immutable:
        done = subprocess.run(["chattr", "+i", str(parent)], capture_output=True, text=True, check=False)
        if done.returncode != 0:
            parent.chmod(0o755)
            pytest.skip(f"running as root and chattr +i is not available ({done.stderr.strip()}): cannot lock a folder")
    try:
        yield parent
    finally:
        if immutable:
            subprocess.run(["chattr", "-i", str(parent)], check=True)
        parent.chmod(0o755)


def test_unwritable_parent_exit_2_and_nothing_written(
    readonly_parent: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = snapshot(readonly_parent)
    for dest in (readonly_parent / "orders", readonly_parent / "missing" / "orders"):
        code, _, err = run_cli(capsys, "orders", "--dest", str(dest))
        assert_one_line_error(code, err, f"cannot create {dest}: no permission to write in {readonly_parent}")
    assert snapshot(readonly_parent) == before


def test_api_raises_scaffold_error(tmp_path: Path) -> None:
    with pytest.raises(ScaffoldError, match="unknown database 'oracle'"):
        generate("orders", tmp_path / "o", database="oracle")
    assert list(tmp_path.iterdir()) == []


def test_the_installed_command_exits_2_with_one_line(tmp_path: Path) -> None:
    """The same through a real process, as a shell or an agent sees it: no traceback, status 2."""
    (tmp_path / "orders").mkdir()
    (tmp_path / "orders" / "keep.txt").write_text("x", encoding="utf-8")
    before = snapshot(tmp_path)
    for argv, expected in [
        (["orders service"], "invalid project name 'orders service'"),
        (["orders", "--dest", str(tmp_path / "orders")], "is not empty; pass --force"),
    ]:
        done = subprocess.run(
            [sys.executable, "-m", "production_fastapi", "scaffold", *argv],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 2
        assert done.stdout == ""
        assert done.stderr.count("\n") == 1, done.stderr
        assert expected in done.stderr
    assert snapshot(tmp_path) == before
