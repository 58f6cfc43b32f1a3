"""Helpers shared by the test folders: import them with ``from helpers import ...``.

They live here rather than in conftest.py because each test folder may have a conftest.py of its own, and
``from conftest import ...`` then picks whichever conftest module was imported last.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType

REPO = Path(__file__).resolve().parent.parent
TEMPLATES = REPO / "templates"
TEMPLATES_PACKAGE = "pf_templates"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def templates_package() -> ModuleType:
    """templates/ imported as the package ``pf_templates`` (its modules import each other relatively)."""
    if TEMPLATES_PACKAGE in sys.modules:
        return sys.modules[TEMPLATES_PACKAGE]
    spec = importlib.util.spec_from_file_location(
        TEMPLATES_PACKAGE, TEMPLATES / "__init__.py", submodule_search_locations=[str(TEMPLATES)]
    )
    assert spec is not None
    assert spec.loader is not None
    package = importlib.util.module_from_spec(spec)
    sys.modules[TEMPLATES_PACKAGE] = package
    spec.loader.exec_module(package)
    return package


def import_template(name: str) -> ModuleType:
    """Import one template module, e.g. ``import_template("middleware")``."""
    templates_package()
    return importlib.import_module(f"{TEMPLATES_PACKAGE}.{name}")


def installed_package_dir(name: str) -> Path:
    """The folder of an installed package (``installed_package_dir("fastapi")``): real code to review."""
    module = importlib.import_module(name)
    assert module.__file__ is not None
    return Path(module.__file__).parent


def bundled_claude_cli() -> Path | None:
    """The Claude Code CLI that the claude-agent-sdk wheel bundles (a dev dependency), found without importing the
    SDK; None when the wheel or its binary is missing."""
    spec = importlib.util.find_spec("claude_agent_sdk")
    if spec is None or spec.origin is None:
        return None
    binary = Path(spec.origin).parent / "_bundled" / ("claude.exe" if sys.platform == "win32" else "claude")
    return binary if binary.is_file() else None


def claude_cli_version(binary: Path) -> str:
    """Which CLI a test drove, for its failure messages: "Claude Code 2.1.337 (claude-agent-sdk 0.2.190)".

    The dev extra pins claude-agent-sdk to the releases these tests were run with; when a test that drives the CLI
    fails after the pin moved, this names the CLI that behaved differently.
    """
    from importlib.metadata import version

    completed = subprocess.run([str(binary), "--version"], capture_output=True, text=True, timeout=60, check=False)
    cli = completed.stdout.strip().removesuffix("(Claude Code)").strip() or f"unknown ({completed.stderr.strip()})"
    return f"Claude Code {cli} (claude-agent-sdk {version('claude-agent-sdk')})"


@contextmanager
def swapping(root: Path, pause: float = 0.0005) -> Iterator[None]:
    """While inside, a thread flips ``root/app`` between the real folder and ``root/.link`` (a link the caller made
    to a folder outside), the check-then-use race the hostile-checkout tests drive. Stops and joins on exit."""
    stop = threading.Event()

    def swap() -> None:
        while not stop.is_set():
            os.rename(root / "app", root / ".dir")
            os.rename(root / ".link", root / "app")
            time.sleep(pause)
            os.rename(root / "app", root / ".link")
            os.rename(root / ".dir", root / "app")
            time.sleep(pause)

    thread = threading.Thread(target=swap, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(10)
