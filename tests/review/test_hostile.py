"""The reviewer, ``--fix`` and the config readers on a hostile checkout (issue 13): every case with real files,
real symlinks, FIFOs, /dev/zero, hard links, and a real concurrent swapper.

Attack ideas beyond the issue's list, covered here or in tests/test_fsaccess.py: a symlinked pyproject.toml that
points at a file elsewhere (read as configuration), a sparse multi-GB ``.py`` file (read whole before the size
check), a ``.py`` name that is a FIFO or a socket inside a walked folder, a folder renamed away while it is walked
(descriptors keep the walk where it started), ``..`` or an absolute path smuggled into a relative name, a temporary
name planted as a directory, and a read-only folder under ``--fix``.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers import swapping

from production_fastapi.cli import main
from production_fastapi.review import Config, review_paths

pytestmark = pytest.mark.skipif(os.name == "nt", reason="symlinks, FIFOs and descriptors are POSIX here")

SLEEPY = "import time\n\n\nasync def handler() -> None:\n    time.sleep(1)\n"
CLEAN = "x = 1\n"


def review(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["review", "--no-cache", "--select", "PF702", *argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def cli(*argv: str, cwd: Path, timeout: float = 30, prefix: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
    """The real command in a real process, under a hard timeout: a hang fails the test instead of the suite."""
    command = [*prefix, sys.executable, "-m", "production_fastapi", "review", "--no-cache", *argv]
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    (root / "app").mkdir(parents=True)
    (root / "app" / "main.py").write_text(SLEEPY)
    return root


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    folder = tmp_path / "outside"
    folder.mkdir()
    (folder / "secret.txt").write_text("keep me\n")
    return folder


# --- --fix --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("planted", ["link", "folder"])
def test_fix_ignores_a_planted_temporary_name(
    project: Path, outside: Path, planted: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """The old fixed temporary name, planted as a link to a file elsewhere or as a folder, changes nothing."""
    app = project / "app"
    if planted == "link":
        (app / ".main.py.production-fastapi.tmp").symlink_to(outside / "secret.txt")
    else:
        (app / ".main.py.production-fastapi.tmp").mkdir()
    (app / ".tmp-dir").mkdir()
    code, _, err = review(capsys, "--fix", "--unsafe-fixes", str(app))
    assert err == ""
    assert code == 0
    assert (outside / "secret.txt").read_text() == "keep me\n"
    main_py = app / "main.py"
    assert not main_py.is_symlink()
    assert "asyncio.sleep" in main_py.read_text()
    assert sorted(p.name for p in app.iterdir()) == [".main.py.production-fastapi.tmp", ".tmp-dir", "main.py"]


def test_fix_in_a_read_only_folder_is_one_error_line(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    app = project / "app"
    if os.geteuid() == 0:
        done = subprocess.run(["chattr", "+i", str(app)], capture_output=True, check=False)
        if done.returncode != 0:
            pytest.skip("running as root without chattr +i: cannot make a folder read-only")
    else:
        app.chmod(0o555)
    try:
        code, _, err = review(capsys, "--fix", "--unsafe-fixes", str(app))
    finally:
        if os.geteuid() == 0:
            subprocess.run(["chattr", "-i", str(app)], check=True)
        app.chmod(0o755)
    assert code == 2
    assert "Traceback" not in err
    (line,) = err.strip().splitlines()
    assert "main.py: cannot be written (" in line
    assert (app / "main.py").read_text() == SLEEPY


def test_fix_refuses_a_symlinked_file_and_keeps_the_link(
    project: Path, outside: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A symlinked .py named on the command line is reviewed (like ruff) but never rewritten: the link stays."""
    target = outside / "shared.py"
    target.write_text(SLEEPY)
    link = project / "app" / "shared.py"
    link.symlink_to(target)
    code, out, err = review(capsys, "--fix", "--unsafe-fixes", str(link))
    assert code == 2
    assert "is a symbolic link; it is not rewritten" in err
    assert link.is_symlink()
    assert target.read_text() == SLEEPY
    assert "PF702" in out


def test_fix_refuses_a_file_swapped_after_it_was_read(
    project: Path, outside: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The file is checked again by identity before the rename: a swap between read and write is refused. The swap
    happens exactly between the two, from inside the real fix loop."""
    from production_fastapi.review import runner as runner_module
    from production_fastapi.review.fixing import FixResult, fix_loop

    main_py = project / "app" / "main.py"

    def swap_then_fix(*args: Any, **kwargs: Any) -> FixResult:
        main_py.unlink()
        main_py.symlink_to(outside / "secret.txt")
        return fix_loop(*args, **kwargs)

    monkeypatch.setattr(runner_module, "fix_loop", swap_then_fix)
    runner = runner_module.Runner(config=Config(root=project), select=["PF702"], cache=False, jobs=1)
    report = runner.run([project / "app"], fix=True, unsafe_fixes=True)
    assert any("symbolic link" in error for error in report.errors)
    assert (outside / "secret.txt").read_text() == "keep me\n"
    assert main_py.is_symlink()


@pytest.mark.parametrize(
    ("original", "expected_endings"),
    [
        (b"import time\r\n\r\n\r\nasync def handler() -> None:\r\n    time.sleep(1)\r\n", {b"\r\n"}),
        (b"import time\n\r\n\nasync def handler() -> None:\r\n    time.sleep(1)\n", None),
    ],
    ids=["crlf-stays-crlf", "mixed-stays-mixed"],
)
def test_fix_keeps_the_line_endings(
    tmp_path: Path, original: bytes, expected_endings: set[bytes] | None, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "main.py"
    target.write_bytes(original)
    review(capsys, "--fix", "--unsafe-fixes", str(target))
    fixed = target.read_bytes()
    assert fixed != original
    if expected_endings is not None:
        assert fixed.count(b"\r\n") == fixed.count(b"\n")  # every line ends in CRLF, the added ones too
    else:
        # Mixed: the lines that were CRLF still are, the LF ones still are; nothing was normalised.
        assert b"\n\r\n\n" in fixed
        assert b"None:\r\n" in fixed


def test_fix_keeps_the_file_mode(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "main.py"
    target.write_text(SLEEPY)
    target.chmod(0o750)
    review(capsys, "--fix", "--unsafe-fixes", str(target))
    assert (target.stat().st_mode & 0o777) == 0o750
    assert "asyncio.sleep" in target.read_text()


# --- what a walk reads ---------------------------------------------------------------------------------------------


def test_a_gitignore_link_to_a_file_elsewhere_is_not_read(
    project: Path, outside: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (outside / "patterns").write_text("main.py\n")  # if it were read, main.py would be skipped
    (project / ".gitignore").symlink_to(outside / "patterns")
    code, out, err = review(capsys, str(project))
    assert "app/main.py" in out
    assert "PF702" in out
    assert ".gitignore: is a symbolic link" in err
    assert code == 2


@pytest.mark.timeout(60)
@pytest.mark.parametrize("kind", ["fifo", "dev-zero"])
def test_a_gitignore_fifo_or_dev_zero_neither_hangs_nor_grows(project: Path, kind: str) -> None:
    gitignore = project / ".gitignore"
    if kind == "fifo":
        os.mkfifo(gitignore)
    else:
        gitignore.symlink_to("/dev/zero")
    started = time.monotonic()
    done = cli(str(project), cwd=project.parent)
    assert time.monotonic() - started < 30
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert ".gitignore:" in done.stderr
    assert "PF702" in done.stdout


@pytest.mark.timeout(60)
@pytest.mark.parametrize("kind", ["fifo", "dev-zero", "socket"])
def test_naming_a_special_file_directly_is_one_error(tmp_path: Path, kind: str) -> None:
    target = tmp_path / "main.py"
    if kind == "fifo":
        os.mkfifo(target)
    elif kind == "dev-zero":
        target.symlink_to("/dev/zero")
    else:
        with socket.socket(socket.AF_UNIX) as server:
            server.bind(str(target))
    done = cli(str(target), cwd=tmp_path)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert "not a regular file" in done.stderr or "is not a regular file" in done.stderr


def test_special_files_and_links_in_a_walked_folder_are_reported(
    project: Path, outside: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    app = project / "app"
    os.mkfifo(app / "pipe.py")
    (app / "zero.py").symlink_to("/dev/zero")
    (outside / "elsewhere.py").write_text(SLEEPY)
    (app / "linked.py").symlink_to(outside / "elsewhere.py")
    (app / "linked_dir").symlink_to(outside, target_is_directory=True)
    code, out, err = review(capsys, str(project))
    assert code == 2
    assert "pipe.py: is not a regular file" in err
    assert "zero.py: is a symbolic link" in err
    assert "linked.py: is a symbolic link" in err
    assert "elsewhere" not in out
    assert out.count("PF702") == 1  # main.py only


def test_a_sparse_huge_file_is_not_read_whole(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    big = tmp_path / "big.py"
    with big.open("wb") as handle:
        handle.truncate(8 * 1024**3)  # 8 GB, sparse: costs no disk, would cost 8 GB of memory if read
    code, out, _ = review(capsys, str(tmp_path))
    assert "over the 2,000,000-byte limit" in out
    assert "8,589,934,592 bytes" in out
    assert code == 1


@pytest.mark.timeout(120)
def test_a_very_deep_tree_is_an_error_not_a_traceback(tmp_path: Path) -> None:
    root = tmp_path / "deep"
    root.mkdir()
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for _ in range(1500):  # through descriptors: the full path is longer than PATH_MAX
            os.mkdir("d", dir_fd=fd)
            child = os.open("d", os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
            os.close(fd)
            fd = child
        os.close(os.open("main.py", os.O_WRONLY | os.O_CREAT, dir_fd=fd))
    finally:
        os.close(fd)
    (root / "top.py").write_text(SLEEPY)
    done = cli(str(root), cwd=tmp_path)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert "RecursionError" not in done.stderr
    assert "folders deep; not reviewed below this point" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert "PF702" in done.stdout
    subprocess.run(["rm", "-rf", str(root)], check=True)  # pytest's cleanup walks paths and would hit PATH_MAX


def test_a_deeply_nested_pyproject_is_one_error_line(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.production-fastapi]\nselect = " + "[" * 100_000 + "]" * 100_000)
    (tmp_path / "main.py").write_text(SLEEPY)
    done = cli(str(tmp_path), cwd=tmp_path)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert "nests arrays or tables too deeply" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("kind", ["fifo", "dev-zero", "link-elsewhere"])
def test_a_planted_pyproject_is_never_read_as_configuration(
    project: Path, outside: Path, kind: str, capsys: pytest.CaptureFixture[str]
) -> None:
    pyproject = project / "pyproject.toml"
    if kind == "fifo":
        os.mkfifo(pyproject)
    elif kind == "dev-zero":
        pyproject.symlink_to("/dev/zero")
    else:
        (outside / "config.toml").write_text('[tool.production-fastapi]\nignore = ["PF702"]\n')
        pyproject.symlink_to(outside / "config.toml")
    code, out, _ = review(capsys, str(project))
    assert "PF702" in out  # the outside file's ignore list was not applied
    assert code == 1


def _run_unprivileged() -> tuple[str, ...]:
    """A prefix that runs a command without the right to ignore file modes (root has it)."""
    if os.geteuid() != 0:
        return ()
    if shutil.which("setpriv") is None:
        pytest.skip("running as root without setpriv: mode 000 cannot stop this process")
    caps = "-dac_override,-dac_read_search"
    return ("setpriv", f"--inh-caps={caps}", f"--bounding-set={caps}")


def test_a_mode_000_folder_is_an_error_not_a_pass(tmp_path: Path) -> None:
    root = tmp_path / "proj"
    (root / "locked").mkdir(parents=True)
    (root / "locked" / "main.py").write_text(SLEEPY)
    (root / "locked").chmod(0)
    try:
        done = cli(str(root), cwd=tmp_path, prefix=_run_unprivileged())
    finally:
        (root / "locked").chmod(0o755)
    assert done.returncode == 2
    assert "locked: cannot be opened (permission denied); not reviewed" in done.stderr
    assert "All checks passed" not in done.stdout
    assert "No findings in 0 files checked, but 1 error kept some of the input from being reviewed." in done.stdout


# --- suppressions come from comments only -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "source",
    [
        '"""Module.\n\n# production-fastapi: noqa\n"""\n' + SLEEPY,
        'MARKER = "# production-fastapi: noqa"\n' + SLEEPY,
        SLEEPY.replace("time.sleep(1)", "time.sleep(1); x = '''  # noqa'''"),
        SLEEPY.replace("time.sleep(1)", 'time.sleep(len("# noqa: PF702"))'),
    ],
    ids=["file-noqa-in-docstring", "file-noqa-in-string", "line-noqa-in-triple-string", "line-noqa-in-string"],
)
def test_a_noqa_inside_a_string_hides_nothing(tmp_path: Path, source: str) -> None:
    (tmp_path / "main.py").write_text(source)
    report = review_paths([tmp_path], config=Config(root=tmp_path), select=["PF702"], cache=False, jobs=1)
    assert [f.code for f in report.findings] == ["PF702"]


def test_a_real_noqa_comment_still_works(tmp_path: Path) -> None:
    (tmp_path / "main.py").write_text(SLEEPY.replace("time.sleep(1)", "time.sleep(1)  # noqa: PF702"))
    (tmp_path / "other.py").write_text('"""Doc with a # quote."""\n# production-fastapi: noqa\n' + SLEEPY)
    report = review_paths([tmp_path], config=Config(root=tmp_path), select=["PF702"], cache=False, jobs=1)
    assert report.findings == []


# --- races ---------------------------------------------------------------------------------------------------------


@pytest.fixture
def swapped_tree(tmp_path: Path) -> Iterator[Path]:
    """``root/app`` flips, by two renames per round, between a real folder holding a clean file and a link to a
    folder whose file has a finding, in a thread, until the test ends."""
    root = tmp_path / "root"
    evil = tmp_path / "evil"
    (root / "app").mkdir(parents=True)
    evil.mkdir()
    (root / "app" / "main.py").write_text(CLEAN)
    (evil / "main.py").write_text(SLEEPY)
    (root / ".link").symlink_to(evil, target_is_directory=True)
    with swapping(root):
        yield root


def test_a_folder_swapped_for_a_link_mid_review_never_yields_outside_findings(swapped_tree: Path) -> None:
    """A walked folder: every folder is opened through its parent's descriptor without following links. (A file the
    user names is read through links on purpose, like ruff; the MCP server's reads are raced in tests/mcp.)"""
    root = swapped_tree
    outside_reads = 0
    errors: list[str] = []
    for _ in range(300):
        report = review_paths([root], config=Config(root=root), select=["PF702"], cache=False, jobs=1)
        outside_reads += sum(f.code == "PF702" for f in report.findings)
        errors.extend(report.errors)
    assert outside_reads == 0
    # A walk that met the link mid-swap says so in one line about the folder; it never goes through it.
    assert all("\n" not in error and ("/app" in error or "/.dir" in error) for error in errors), errors[:3]


def test_a_huge_gitignore_is_applied_only_in_part(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """100,000 patterns matched against every entry would make the walk crawl: the first 5,000 apply."""
    (project / ".gitignore").write_text("".join(f"*n{index}\n" for index in range(100_000)))
    started = time.monotonic()
    code, out, err = review(capsys, str(project))
    assert time.monotonic() - started < 20
    assert "more than 5,000 lines; only the first 5,000 are applied" in err
    assert "PF702" in out
    assert code == 2


def test_a_planted_name_cannot_break_an_error_line(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    os.mkfifo(project / "app" / "evil\nfake.py:1:1: PF999 forged.py")
    code, _, err = review(capsys, str(project))
    assert code == 2
    (line,) = err.strip().splitlines()
    assert "evil\\x0afake.py" in line
