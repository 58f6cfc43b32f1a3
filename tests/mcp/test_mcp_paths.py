"""The path policy on its own: configuration, narrowing by roots, reads, project walks and new folders."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from mcp_fixtures import *  # noqa: F403  (the pytest fixtures workspace)
from mcp_helpers import Workspace

from production_fastapi.mcp.paths import ALLOW_ENV, PathPolicy, PathRefused


def test_flags_win_over_the_environment_which_wins_over_the_working_directory(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ALLOW_ENV, f"{workspace.outside}{os.pathsep}{workspace.evil}")
    assert PathPolicy.from_environment([workspace.allowed]).allowed == (workspace.allowed,)
    assert PathPolicy.from_environment().allowed == (workspace.outside, workspace.evil)
    monkeypatch.delenv(ALLOW_ENV)
    assert PathPolicy.from_environment(cwd=workspace.allowed).allowed == (workspace.allowed,)


def test_allowed_directories_are_resolved_and_must_exist(workspace: Workspace) -> None:
    link = workspace.root / "link-to-allowed"
    link.symlink_to(workspace.allowed, target_is_directory=True)
    assert PathPolicy.from_dirs([link]).allowed == (workspace.allowed,)
    with pytest.raises(ValueError, match="does not exist or is not a directory"):
        PathPolicy.from_dirs([workspace.root / "missing"])
    with pytest.raises(ValueError, match="does not exist or is not a directory"):
        PathPolicy.from_dirs([workspace.allowed / "app" / "main.py"])
    with pytest.raises(ValueError, match="at least one"):
        PathPolicy.from_dirs([])


def test_containment_compares_components_not_prefixes(workspace: Workspace) -> None:
    policy = PathPolicy.from_dirs([workspace.allowed])
    assert str(workspace.evil).startswith(str(workspace.allowed))
    with pytest.raises(PathRefused, match="outside"):
        policy.read_text(str(workspace.evil / "app.py"))
    real, text = policy.read_text("app/main.py")
    assert real == workspace.allowed / "app" / "main.py"
    assert "FastAPI" in text


def test_roots_narrow_and_never_widen(workspace: Workspace) -> None:
    policy = PathPolicy.from_dirs([workspace.allowed])
    inner = workspace.allowed / "app"
    assert policy.narrowed([inner]).allowed == (inner,)
    assert policy.narrowed([workspace.root]).allowed == (workspace.allowed,)  # a wider root changes nothing
    assert policy.narrowed([workspace.outside]).allowed == ()
    assert policy.narrowed([workspace.outside, inner]).allowed == (inner,)
    with pytest.raises(PathRefused, match="share no folder"):
        policy.narrowed([workspace.outside]).read_text("app/main.py")


def test_reads_refuse_big_binary_and_non_utf8_files(workspace: Workspace) -> None:
    policy = PathPolicy.from_dirs([workspace.allowed], max_file_bytes=1000)
    (workspace.allowed / "big.py").write_text("x = 1\n" * 200)
    (workspace.allowed / "latin1.py").write_bytes("nom = 'café'\n".encode("latin-1"))
    with pytest.raises(PathRefused, match=r"big.py is larger than the 1 kB limit"):
        policy.read_text("big.py")
    with pytest.raises(PathRefused, match=r"latin1.py is not UTF-8 text"):
        policy.read_text("latin1.py")
    with pytest.raises(PathRefused, match=r"app is a folder, not a file"):
        policy.read_text("app")


def test_new_directory_accepts_only_fresh_plain_folders_inside(workspace: Workspace) -> None:
    policy = PathPolicy.from_dirs([workspace.allowed])
    assert policy.new_directory("services/orders") == workspace.allowed / "services" / "orders"
    (workspace.allowed / "empty").mkdir()
    assert policy.new_directory("empty") == workspace.allowed / "empty"
    with pytest.raises(PathRefused, match="already exists and is not empty"):
        policy.new_directory("app")
    with pytest.raises(PathRefused, match="is not a folder, so no folder can be created under it"):
        policy.new_directory("app/main.py/svc")
    with pytest.raises(PathRefused, match="new folder name may contain only"):
        policy.new_directory("services/orders%2f..")
    assert not (workspace.allowed / "services").exists()  # checking creates nothing


def test_an_empty_allowed_directory_is_not_a_destination(tmp_path: Path) -> None:
    policy = PathPolicy.from_dirs([tmp_path])
    with pytest.raises(PathRefused, match="is an allowed directory itself"):
        policy.new_directory(".")


def test_the_file_system_root_is_never_a_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ALLOW_ENV, raising=False)
    with pytest.raises(ValueError, match="no default allow-list is safe; pass --allow DIR"):
        PathPolicy.from_environment(cwd=Path("/"))
    assert PathPolicy.from_environment(["/"]).allowed == (Path("/"),)  # said explicitly, it is the user's choice
