"""The MCP server on a hostile checkout (issue 13): planted files inside the allowed folder, a concurrent swapper,
a client flooding the server, a scaffold whose parent is swapped. Real files, real threads, the real server.

Every review answer is checked for the outside secret; every refusal for being one sentence.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from typing import Any

import anyio
import pytest
from helpers import swapping
from mcp import Client
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult, TextContent
from mcp_fixtures import *  # noqa: F403  (the pytest fixtures client, workspace)
from mcp_helpers import Workspace

from production_fastapi.fsaccess import RENAME_EXCHANGE, rename_flags
from production_fastapi.mcp.paths import PathPolicy
from production_fastapi.mcp.server import Limits, _Gate, build_server

pytestmark = [pytest.mark.anyio, pytest.mark.skipif(os.name == "nt", reason="symlinks and FIFOs are POSIX here")]

SLEEPY = "import time\n\n\nasync def handler() -> None:\n    time.sleep(1)\n"


def text_of(result: CallToolResult) -> str:
    block = result.content[0]
    assert isinstance(block, TextContent)
    return block.text


def assert_no_leak(ws: Workspace, text: str) -> None:
    assert "hunter2" not in text
    assert str(ws.outside) not in text


@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    "plant",
    [
        "gitignore-fifo",
        "gitignore-dev-zero",
        "gitignore-link-outside",
        "pyproject-link-outside",
        "pyproject-fifo",
        "pyproject-nested",
        "hard-link",
        "py-fifo",
        "py-link-outside",
    ],
)
async def test_review_project_over_planted_files(client: Client, workspace: Workspace, plant: str) -> None:
    """Each plant ends in a result (the planted file listed as not reviewed) or one refusal sentence, quickly,
    and never shows a byte of the outside file."""
    app = workspace.allowed / "app"
    secret = workspace.outside / "secret.py"
    (workspace.outside / "patterns").write_text("main.py\n")
    if plant == "gitignore-fifo":
        os.mkfifo(app / ".gitignore")
    elif plant == "gitignore-dev-zero":
        (app / ".gitignore").symlink_to("/dev/zero")
    elif plant == "gitignore-link-outside":
        (app / ".gitignore").symlink_to(workspace.outside / "patterns")
    elif plant == "pyproject-link-outside":
        (workspace.allowed / "pyproject.toml").symlink_to(secret)
    elif plant == "pyproject-fifo":
        os.mkfifo(workspace.allowed / "pyproject.toml")
    elif plant == "pyproject-nested":
        nested = "[" * 100_000 + "]" * 100_000
        (workspace.allowed / "pyproject.toml").write_text(f"[tool.production-fastapi]\nselect = {nested}\n")
    elif plant == "hard-link":
        os.link(secret, app / "hard.py")
    elif plant == "py-fifo":
        os.mkfifo(app / "pipe.py")
    else:
        (app / "linked.py").symlink_to(secret)
    started = time.monotonic()
    result = await client.call_tool("review_project", {"path": "."})
    assert time.monotonic() - started < 30
    text = text_of(result)
    assert_no_leak(workspace, text)
    if result.is_error:
        assert plant.startswith("pyproject")
        assert "\n" not in text
        assert text.rstrip().endswith(".")
        return
    assert result.structured_content is not None
    paths = {f["path"] for f in result.structured_content["findings"]}
    assert "app/main.py" in paths  # the outside .gitignore's "main.py" pattern was not applied
    if plant in {"hard-link", "py-fifo", "py-link-outside"} or plant.startswith("gitignore"):
        assert result.structured_content["errors"], "the planted file must be reported as not reviewed"


async def test_a_hard_link_is_refused_by_review_file(client: Client, workspace: Workspace) -> None:
    os.link(workspace.outside / "secret.py", workspace.allowed / "hard.py")
    result = await client.call_tool("review_file", {"path": "hard.py"})
    assert result.is_error
    assert "other hard links" in text_of(result)
    assert_no_leak(workspace, text_of(result))


@pytest.fixture
def swapped_app(workspace: Workspace) -> Iterator[Workspace]:
    """``allowed/app`` flips between the real folder and a link to an outside folder, in a thread."""
    allowed = workspace.allowed
    evil = workspace.outside / "app"
    evil.mkdir()
    (evil / "main.py").write_text(SLEEPY + "# hunter2\n")
    (allowed / "app" / "main.py").write_text("x = 1\n")
    (allowed / ".link").symlink_to(evil, target_is_directory=True)
    with swapping(allowed):
        yield workspace


@pytest.mark.timeout(120)
async def test_review_file_and_project_under_a_concurrent_swapper(client: Client, swapped_app: Workspace) -> None:
    """The race the red team won 442 times in 3,000: here a bounded number of rounds, with zero outside reads."""
    outside_reads = 0
    answered = 0
    for _ in range(150):
        for tool, path in (("review_file", "app/main.py"), ("review_project", "app")):
            result = await client.call_tool(tool, {"path": path})
            text = text_of(result)
            assert_no_leak(swapped_app, text)
            if result.is_error:
                assert "\n" not in text
                continue
            answered += 1
            assert result.structured_content is not None
            outside_reads += result.structured_content["total"]  # the inside file has no finding at all
    assert outside_reads == 0
    assert answered > 0


@pytest.mark.timeout(120)
async def test_a_flood_of_calls_never_stops_the_server_answering(workspace: Workspace) -> None:
    """Sixty review calls on a folder with a FIFO .gitignore, all at once: each returns, and list_tools answers
    while they run (the red team stopped the server with 39)."""
    os.mkfifo(workspace.allowed / "app" / ".gitignore")
    server = build_server(PathPolicy.from_dirs([workspace.allowed]), Limits(concurrent=2, queue_seconds=60))
    outcomes: list[bool] = []
    async with Client(server) as client:

        async def one() -> None:
            result = await client.call_tool("review_project", {"path": "app"})
            outcomes.append(result.is_error)

        async with anyio.create_task_group() as group:
            for _ in range(60):
                group.start_soon(one)
            with anyio.fail_after(10):
                tools = await client.list_tools()
            assert {tool.name for tool in tools.tools} >= {"review_file", "review_project"}
    assert outcomes == [False] * 60


async def test_a_call_past_its_deadline_is_a_clear_error(workspace: Workspace) -> None:
    server = build_server(PathPolicy.from_dirs([workspace.allowed]), Limits(call_seconds=0))
    async with Client(server) as client:
        result = await client.call_tool("review_project", {"path": "."})
    assert result.is_error
    assert "took longer than its 0-second limit" in text_of(result)


async def test_a_full_server_refuses_in_time_instead_of_queueing_forever() -> None:
    gate = _Gate(Limits(concurrent=1, queue_seconds=0.2))
    release = threading.Event()

    def hold(_: float) -> str:
        release.wait(10)
        return "done"

    results: list[Any] = []

    async def call() -> None:
        try:
            results.append(await gate.run(hold))
        except ToolError as exc:
            results.append(str(exc))

    async with anyio.create_task_group() as group:
        group.start_soon(call)
        await anyio.sleep(0.05)
        await call()  # the one slot is taken: refused after the queue wait
        release.set()
    assert results[0].startswith("The server is busy")
    assert results[1] == "done"


# --- scaffold_service ----------------------------------------------------------------------------------------------


@pytest.mark.timeout(120)
async def test_five_concurrent_scaffolds_to_one_destination_create_one(client: Client, workspace: Workspace) -> None:
    results: list[CallToolResult] = []

    async def one() -> None:
        results.append(await client.call_tool("scaffold_service", {"name": "svc", "destination": "svc"}))

    async with anyio.create_task_group() as group:
        for _ in range(5):
            group.start_soon(one)
    created = [r for r in results if not r.is_error]
    assert len(created) == 1
    for refused in (r for r in results if r.is_error):
        assert "not empty" in text_of(refused) or "another scaffold" in text_of(refused)
    assert (workspace.allowed / "svc" / "svc" / "app.py").is_file()
    assert [p.name for p in workspace.allowed.iterdir() if p.name.startswith(".svc.")] == []


@pytest.mark.timeout(180)
async def test_a_parent_swapped_for_a_link_never_writes_outside(client: Client, workspace: Workspace) -> None:
    """The destination's parent flips between a real folder and a link to an outside folder while scaffolds run:
    nothing is ever written outside, and "Created" is answered only when the project is really at the path."""
    allowed = workspace.allowed
    (allowed / "parent").mkdir()
    target = workspace.outside / "target"
    target.mkdir()
    (allowed / ".plink").symlink_to(target, target_is_directory=True)
    fd = os.open(allowed, os.O_RDONLY | os.O_DIRECTORY)
    if not rename_flags(fd, "parent", fd, ".plink", RENAME_EXCHANGE):
        os.close(fd)
        pytest.skip("no renameat2(RENAME_EXCHANGE) here: the swapper needs it to never leave the name absent")
    rename_flags(fd, "parent", fd, ".plink", RENAME_EXCHANGE)  # back to the real folder
    stop = threading.Event()

    def swap() -> None:
        # One atomic exchange per flip, so "parent" always exists (a link or the real folder).
        flips = 0
        while not stop.is_set() or flips % 2:
            rename_flags(fd, "parent", fd, ".plink", RENAME_EXCHANGE)
            flips += 1
            time.sleep(0.001)

    lies = 0
    try:
        for index in range(10):
            thread = threading.Thread(target=swap, daemon=True)
            stop.clear()
            thread.start()
            result = await client.call_tool("scaffold_service", {"name": "svc", "destination": f"parent/s{index}"})
            stop.set()
            thread.join(10)
            assert not (allowed / "parent").is_symlink()
            text = text_of(result)
            assert_no_leak(workspace, text)
            if result.is_error:
                assert "\n" not in text
            elif not (allowed / "parent" / f"s{index}" / "svc" / "app.py").is_file():
                lies += 1
    finally:
        stop.set()
        os.close(fd)
    assert list(target.iterdir()) == [], "a scaffold wrote outside the allowed folder"
    assert lies == 0
