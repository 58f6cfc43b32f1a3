"""The README's from-source line (no PyPI release yet) starts a working MCP server, run exactly as documented.

The line is read from README.md, not restated here, so the test and the documentation cannot drift apart; only the
clone's path is substituted, and the clone is the repository's tracked files copied to a temporary folder.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest
from mcp import Client, StdioServerParameters, stdio_client

REPO = Path(__file__).resolve().parents[2]
CLONE = "~/production-fastapi"  # where the README's `git clone` puts it

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(600)]


def documented_command() -> list[str]:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    match = re.search(r"^claude mcp add production-fastapi -- (uvx --from \S+ production-fastapi mcp)$", readme, re.M)
    assert match, "README.md no longer documents `claude mcp add production-fastapi -- uvx --from <clone> ...`"
    return shlex.split(match.group(1))


def clone_of_the_repository(dest: Path) -> Path:
    """What `git clone` gives: the tracked files, without this checkout's .venv, caches and build output."""
    tracked = subprocess.run(
        ["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=False
    )
    if tracked.returncode != 0:
        pytest.skip("not a git checkout: nothing to clone from")
    for name in filter(None, tracked.stdout.decode().split("\0")):
        source = REPO / name
        if source.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / name)
    return dest


async def test_uvx_from_a_clone_serves_the_tools(tmp_path: Path) -> None:
    command = documented_command()
    if shutil.which(command[0]) is None:
        pytest.skip(f"{command[0]} is not on PATH (the dev extra installs uv)")
    clone = clone_of_the_repository(tmp_path / "production-fastapi")
    args = [str(clone) if arg == CLONE else arg for arg in command[1:]]
    assert str(clone) in args, f"the README's line no longer names the clone as {CLONE}: {command}"
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    (workspace / "main.py").write_text(
        "import time\nfrom fastapi import FastAPI\napp = FastAPI()\n\n\n@app.get('/')\nasync def root():\n"
        "    time.sleep(1)\n",
        encoding="utf-8",
    )
    errlog = (tmp_path / "stderr.log").open("w+")
    # The user's whole environment, as Claude Code passes it on (the SDK's default keeps only a few variables and
    # would drop a proxy's or a company's CA settings that uv needs to reach the package index).
    params = StdioServerParameters(command=command[0], args=args, cwd=str(workspace), env=dict(os.environ))
    with errlog:
        async with Client(stdio_client(params, errlog=errlog)) as client:
            names = {tool.name for tool in (await client.list_tools()).tools}
            result = await client.call_tool("review_file", {"path": "main.py"})
        errlog.seek(0)
        logged = errlog.read()
    assert {"list_templates", "get_template", "review_file", "review_project", "scaffold_service"} <= names, logged
    assert not result.is_error, logged
    assert result.structured_content is not None
    assert "PF702" in {finding["code"] for finding in result.structured_content["findings"]}
