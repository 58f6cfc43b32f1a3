"""Shared helpers of the MCP tests (a uniquely named module: tests import it; conftest.py holds the fixtures)."""

from __future__ import annotations

import os
import socket
import sys
from dataclasses import dataclass
from pathlib import Path

# A service with two findings the reviewer knows: PF006 (line 4) and PF702 (line 9).
BAD_MAIN = """\
import time
from fastapi import FastAPI

app = FastAPI(debug=True)


@app.get("/items")
async def items() -> dict[str, bool]:
    time.sleep(1)
    return {"ok": True}
"""
SECRET = 'PASSWORD = "hunter2"  # outside the allow-list: no tool may read this\n'


@dataclass(frozen=True)
class Workspace:
    root: Path
    allowed: Path
    outside: Path
    evil: Path  # a sibling whose name starts with the allowed folder's name


def console_script() -> Path:
    """The ``production-fastapi`` entry point of the interpreter running the tests (CI builds a fresh venv)."""
    script = Path(sys.executable).parent / ("production-fastapi.exe" if os.name == "nt" else "production-fastapi")
    assert script.is_file(), f"{script} is missing: install the package (pip install -e .)"
    return script


def snapshot(root: Path) -> dict[str, tuple[str, int, int]]:
    """Every entry under ``root`` (links not followed) with its kind, size and modification time."""
    entries: dict[str, tuple[str, int, int]] = {}
    for folder, dirs, files in os.walk(root, followlinks=False):
        for name in dirs + files:
            path = Path(folder) / name
            info = path.lstat()
            kind = "link" if path.is_symlink() else "dir" if path.is_dir() else "file"
            entries[path.relative_to(root).as_posix()] = (kind, info.st_size, info.st_mtime_ns)
    return entries


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now (the suite's conftest has the same; conftest modules can't be imported
    by name from a folder that has its own)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
