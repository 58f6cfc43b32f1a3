"""The file-access layer every tool uses: opened beneath a root with no link followed anywhere, vetted through the
descriptor, bounded, and written without following a planted name. Each case runs twice: through the kernel's
``openat2`` (when this kernel has it) and through the portable descriptor walk."""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import swapping

from production_fastapi import fsaccess
from production_fastapi.fsaccess import AccessError

pytestmark = pytest.mark.skipif(os.name == "nt", reason="descriptors, FIFOs and symlinks are POSIX here")


@pytest.fixture(params=["openat2", "walk"])
def mode(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param == "openat2":
        if not fsaccess.has_openat2():
            pytest.skip("this kernel has no openat2")
    else:
        monkeypatch.setattr(fsaccess, "_openat2", None)
    return str(request.param)


@pytest.fixture
def tree(tmp_path: Path) -> Iterator[tuple[Path, int, Path]]:
    root = tmp_path / "root"
    (root / "app").mkdir(parents=True)
    (root / "app" / "main.py").write_text("inside\n")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "main.py").write_text("outside\n")
    fd = fsaccess.open_root(root)
    try:
        yield root, fd, outside
    finally:
        os.close(fd)


def read(fd: int, relative: str, limit: int = 1000, **flags: bool) -> bytes:
    return fsaccess.read_beneath(fd, relative, limit, **flags).data


def test_a_plain_file_is_read(mode: str, tree: tuple[Path, int, Path]) -> None:
    _, fd, _ = tree
    assert read(fd, "app/main.py") == b"inside\n"
    assert read(fd, "./app//main.py") == b"inside\n"


@pytest.mark.parametrize("where", ["last", "middle", "root-relative-link"])
def test_a_link_anywhere_on_the_path_is_refused(mode: str, tree: tuple[Path, int, Path], where: str) -> None:
    root, fd, outside = tree
    if where == "last":
        (root / "app" / "link.py").symlink_to(outside / "main.py")
        relative = "app/link.py"
    elif where == "middle":
        (root / "linked").symlink_to(outside, target_is_directory=True)
        relative = "linked/main.py"
    else:
        (root / "inner").symlink_to("app", target_is_directory=True)  # even a link that stays inside
        relative = "inner/main.py"
    with pytest.raises(AccessError) as caught:
        read(fd, relative)
    assert caught.value.errno == errno.ELOOP
    assert "symbolic link" in str(caught.value)


@pytest.mark.parametrize("relative", ["../outside/main.py", "app/../../outside/main.py"])
def test_climbing_out_is_refused(mode: str, tree: tuple[Path, int, Path], relative: str) -> None:
    _, fd, _ = tree
    with pytest.raises(AccessError, match="leads outside"):
        read(fd, relative)


@pytest.mark.timeout(20)
def test_a_fifo_is_refused_without_blocking(mode: str, tree: tuple[Path, int, Path]) -> None:
    root, fd, _ = tree
    os.mkfifo(root / "app" / "pipe.py")
    with pytest.raises(AccessError, match="is a FIFO"):
        read(fd, "app/pipe.py")


def test_a_device_link_is_refused(mode: str, tree: tuple[Path, int, Path]) -> None:
    root, fd, _ = tree
    (root / "zero").symlink_to("/dev/zero")
    with pytest.raises(AccessError, match="symbolic link"):
        read(fd, "zero")
    with pytest.raises(AccessError, match="is a device"):
        fsaccess.read_path(root / "zero", 1000)  # a name the user gave: followed, but still vetted


def test_a_hard_link_is_refused_when_asked(mode: str, tree: tuple[Path, int, Path]) -> None:
    root, fd, outside = tree
    os.link(outside / "main.py", root / "app" / "hard.py")
    assert read(fd, "app/hard.py") == b"outside\n"  # the reviewer CLI: the user's own tree
    with pytest.raises(AccessError, match="other hard links"):
        read(fd, "app/hard.py", refuse_hardlinks=True)  # the MCP server's allowed folder


def test_reads_are_bounded(mode: str, tree: tuple[Path, int, Path]) -> None:
    root, fd, _ = tree
    (root / "big.py").write_bytes(b"x" * 5000)
    vetted = fsaccess.read_beneath(fd, "big.py", 100)
    assert vetted.truncated
    assert len(vetted.data) == 101
    assert vetted.size == 5000
    with pytest.raises(AccessError, match="larger than the 100-byte limit"):
        fsaccess.read_beneath(fd, "big.py", 100, strict=True)


def test_replace_at_writes_a_new_file_and_never_through_a_link(tree: tuple[Path, int, Path]) -> None:
    root, _, outside = tree
    app = fsaccess.open_root(root / "app")
    try:
        vetted = fsaccess.read_at(app, "main.py", 1000)
        fsaccess.replace_at(app, "main.py", b"fixed\n", 0o640, expect=(vetted.device, vetted.inode))
        assert (root / "app" / "main.py").read_bytes() == b"fixed\n"
        assert (root / "app" / "main.py").stat().st_mode & 0o777 == 0o640
        # Swap the name for a link: refused, and the link's target is untouched.
        fresh = fsaccess.read_at(app, "main.py", 1000)
        (root / "app" / "main.py").unlink()
        (root / "app" / "main.py").symlink_to(outside / "main.py")
        with pytest.raises(AccessError, match="symbolic link"):
            fsaccess.replace_at(app, "main.py", b"evil\n", 0o644, expect=(fresh.device, fresh.inode))
        assert (outside / "main.py").read_bytes() == b"outside\n"
        # With no identity to check (the cache), a link in the way is replaced as a name, its target untouched.
        fsaccess.replace_at(app, "main.py", b"cache\n", 0o600)
        assert not (root / "app" / "main.py").is_symlink()
        assert (outside / "main.py").read_bytes() == b"outside\n"
        assert sorted(p.name for p in (root / "app").iterdir()) == ["main.py"]  # no temporary left behind
    finally:
        os.close(app)


def test_create_exclusive_never_follows_a_dangling_link(tmp_path: Path) -> None:
    (tmp_path / "TAG").symlink_to(tmp_path / "created-elsewhere")
    fd = fsaccess.open_root(tmp_path)
    try:
        assert fsaccess.create_exclusive(fd, "TAG", b"x") is False
        assert fsaccess.create_exclusive(fd, "NEW", b"y") is True
    finally:
        os.close(fd)
    assert not (tmp_path / "created-elsewhere").exists()
    assert (tmp_path / "NEW").read_bytes() == b"y"


def test_a_concurrent_swapper_never_gets_an_outside_read(mode: str, tree: tuple[Path, int, Path]) -> None:
    """A thread flips ``app`` between the real folder and a link to the outside one; every read either returns
    the inside bytes or is refused, for a fixed number of rounds."""
    root, fd, outside = tree
    (root / ".link").symlink_to(outside, target_is_directory=True)
    results = {"inside": 0, "refused": 0, "outside": 0}
    with swapping(root, pause=0.0002):
        for _ in range(3000):
            try:
                data = read(fd, "app/main.py")
            except AccessError:
                results["refused"] += 1
                continue
            results["inside" if data == b"inside\n" else "outside"] += 1
    assert results["outside"] == 0, results
    assert results["inside"] > 0, results
