"""Attack inputs against every path-taking tool: each is refused in one sentence, and nothing is written.

The inputs are what the official filesystem server's CVEs and path-traversal folklore suggest: climbing out with
``..``, absolute paths elsewhere, symlinks (to files, folders, chains, loops), the ``/allowed-evil`` prefix trick,
percent-encoded and backslash separators, NUL and control bytes, over-long names, a FIFO and device files; and the
classes the hostile-checkout red team added (issue 13): a hard link to an outside file, a socket, a ``/dev/zero``
link below a folder, a FIFO ``.gitignore``. Races and planted folder content are in test_mcp_hostile.py.
"""

from __future__ import annotations

import os
import re
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from mcp.types import TextContent
from mcp_fixtures import *  # noqa: F403  (the pytest fixtures client, workspace)
from mcp_helpers import Workspace, snapshot

pytestmark = [pytest.mark.anyio, pytest.mark.skipif(os.name == "nt", reason="symlinks and FIFOs are POSIX here")]

Attack = Callable[[Workspace], str]


def plant(ws: Workspace) -> None:
    """Links and special files inside the allowed folder, pointing wherever an attacker would like."""
    a = ws.allowed
    (a / "link_file.py").symlink_to(ws.outside / "secret.py")
    (a / "link_dir").symlink_to(ws.outside, target_is_directory=True)
    (a / "chain.py").symlink_to(a / "link_file.py")
    (a / "loop_a").symlink_to(a / "loop_b")
    (a / "loop_b").symlink_to(a / "loop_a")
    (a / "dev_link").symlink_to("/dev/zero")
    (a / "evil_link").symlink_to(ws.evil, target_is_directory=True)
    os.mkfifo(a / "fifo.py")
    os.link(ws.outside / "secret.py", a / "hard.py")  # a hard link: the same bytes as the outside file
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(a / "sock.py"))
    (a / "app" / "zero.py").symlink_to("/dev/zero")
    (a / "deep").mkdir()
    os.mkfifo(a / "deep" / ".gitignore")
    (a / "huge.py").write_text("x = 1\n" * 200_000)  # 1.2 MB, over the 1 MB cap
    (a / "latin1.py").write_bytes("nom = 'caf\u00e9'\n".encode("latin-1"))


# Inputs refused by every path-taking tool (read or write).
COMMON: dict[str, Attack] = {
    "dotdot-relative": lambda ws: "../outside/secret.py",
    "dotdot-deep": lambda ws: "../../../../../../../../etc/passwd",
    "absolute-etc": lambda ws: "/etc/passwd",
    "absolute-outside-file": lambda ws: str(ws.outside / "secret.py"),
    "absolute-outside-dir": lambda ws: str(ws.outside),
    "prefix-trick": lambda ws: f"{ws.allowed}-evil/app.py",
    "prefix-trick-relative": lambda ws: f"../{ws.allowed.name}-evil/app.py",
    "dotdot-through-subdir": lambda ws: "app/../../outside/secret.py",
    "symlink-file": lambda ws: "link_file.py",
    "symlink-dir": lambda ws: "link_dir/secret.py",
    "symlink-dir-itself": lambda ws: "link_dir",
    "symlink-chain": lambda ws: "chain.py",
    "symlink-to-sibling": lambda ws: "evil_link/app.py",
    "symlink-to-device": lambda ws: "dev_link",
    "nul-byte": lambda ws: "app/main.py\x00.txt",
    "newline": lambda ws: "app/main.py\n../../outside/secret.py",
    "very-long": lambda ws: "a/" * 3000,
    "long-component": lambda ws: "b" * 300 + ".py",
    "device": lambda ws: "/dev/zero",
    "proc": lambda ws: "/proc/self/environ",
    "empty": lambda ws: "",
    "blank": lambda ws: "   ",
}

# Inputs that name nothing inside the allowed folder: refused as missing on reads, as bad new names on writes.
ENCODED: dict[str, Attack] = {
    "percent-encoded-slash": lambda ws: "..%2foutside%2fsecret.py",
    "percent-encoded-dots": lambda ws: "%2e%2e/outside/secret.py",
    "double-encoded": lambda ws: "%252e%252e%252foutside",
    "backslashes": lambda ws: "..\\outside\\secret.py",
    "fullwidth-dots": lambda ws: "\uff0e\uff0e/outside/secret.py",
    "tilde": lambda ws: "~/.ssh/id_rsa",
    "file-url": lambda ws: "file:///etc/passwd",
}

READ_ONLY_EXTRA: dict[str, Attack] = {
    "fifo": lambda ws: "fifo.py",
    "symlink-loop": lambda ws: "loop_a",
    "over-size-cap": lambda ws: "huge.py",
    "not-utf8": lambda ws: "latin1.py",
    "hard-link-to-outside": lambda ws: "hard.py",
    "socket": lambda ws: "sock.py",
    "dev-zero-link-in-subdir": lambda ws: "app/zero.py",
    "symlinked-dir-then-dotdot": lambda ws: "link_dir/../outside/secret.py",
}

WRITE_EXTRA: dict[str, Attack] = {
    "existing-nonempty-dir": lambda ws: "app",
    "existing-file": lambda ws: "app/main.py",
    "allowed-root-itself": lambda ws: ".",
    "fifo-as-destination": lambda ws: "fifo.py",
    "hidden-name": lambda ws: ".hidden-service",
    "option-like-name": lambda ws: "-rf",
    "space-in-name": lambda ws: "my service",
    "under-symlink-loop": lambda ws: "loop_a/svc",
    "new-under-symlinked-dir": lambda ws: "link_dir/newsvc",
    "new-outside": lambda ws: str(ws.outside / "newsvc"),
    "new-in-sibling": lambda ws: f"{ws.allowed}-evil/newsvc",
    "hard-link-as-destination": lambda ws: "hard.py",
    "socket-as-destination": lambda ws: "sock.py",
    "new-under-fifo": lambda ws: "fifo.py/svc",
    "over-long-destination": lambda ws: "d/" * 2100 + "svc",
}

# An absolute path: a slash at the start of a word, not one inside a relative name the client sent
# (``app/main.py``, or ``file:/etc/passwd`` echoed back as the missing relative path it is).
_PATH_TOKEN = re.compile(r"(?<![^\s(\"'])/[^\s,;:()'\"]+")


def check_refusal(ws: Workspace, label: str, message: str) -> list[str]:
    """Problems with a refusal message: it must be one sentence naming no path outside the allowed folder."""
    problems = []
    prefix, _, sentence = message.partition(": ")
    if not prefix.startswith("Error executing tool") or not sentence:
        problems.append(f"{label}: not a tool error: {message!r}")
    if "\n" in message or "Traceback" in message or not sentence.endswith("."):
        problems.append(f"{label}: not one sentence: {message!r}")
    if sentence.count(". ") > 0:
        problems.append(f"{label}: more than one sentence: {message!r}")
    for token in _PATH_TOKEN.findall(sentence):
        if not Path(token.rstrip(".")).is_relative_to(ws.allowed):
            problems.append(f"{label}: names {token!r}, outside the allowed folder: {message!r}")
    for secret in (str(ws.outside), str(ws.evil), "hunter2"):
        if secret in sentence:
            problems.append(f"{label}: leaks {secret!r}: {message!r}")
    return problems


async def run_attacks(
    client: Client, ws: Workspace, tool: str, argument: str, attacks: dict[str, Attack], extra: dict[str, Any]
) -> None:
    plant(ws)
    before = snapshot(ws.root)
    problems: list[str] = []
    for label, attack in attacks.items():
        result = await client.call_tool(tool, {argument: attack(ws), **extra})
        block = result.content[0]
        assert isinstance(block, TextContent)
        if not result.is_error:
            problems.append(f"{label}: accepted: {block.text[:200]!r}")
            continue
        problems.extend(check_refusal(ws, label, block.text))
    assert snapshot(ws.root) == before, "an attack wrote to the file system"
    assert not problems, "\n".join(problems)


async def test_review_file_refuses_every_attack(client: Client, workspace: Workspace) -> None:
    attacks = COMMON | ENCODED | READ_ONLY_EXTRA
    assert len(attacks) >= 20
    await run_attacks(client, workspace, "review_file", "path", attacks, {})


async def test_review_project_refuses_every_attack(client: Client, workspace: Workspace) -> None:
    attacks = COMMON | ENCODED | READ_ONLY_EXTRA | {"a-file": lambda ws: "app/main.py"}
    assert len(attacks) >= 20
    await run_attacks(client, workspace, "review_project", "path", attacks, {})


async def test_scaffold_service_refuses_every_attack(client: Client, workspace: Workspace) -> None:
    attacks = COMMON | ENCODED | WRITE_EXTRA
    assert len(attacks) >= 20
    await run_attacks(client, workspace, "scaffold_service", "destination", attacks, {"name": "svc"})


@pytest.mark.timeout(20)
async def test_a_fifo_is_refused_without_waiting_for_a_writer(client: Client, workspace: Workspace) -> None:
    # Opening a FIFO for reading blocks until someone writes; the policy must refuse before that.
    os.mkfifo(workspace.allowed / "app" / "pipe.py")
    for tool in ("review_file", "review_project"):
        path = "app/pipe.py" if tool == "review_file" else "app"
        result = await client.call_tool(tool, {"path": path})
        block = result.content[0]
        assert isinstance(block, TextContent)
        if tool == "review_file":
            assert result.is_error
            assert "not a regular file" in block.text
        else:  # the FIFO is skipped; main.py is still reviewed
            assert not result.is_error
            assert result.structured_content is not None
            assert {f["path"] for f in result.structured_content["findings"]} == {"main.py"}
