"""Start the production-fastapi MCP server for the Claude Code plugin (``.mcp.json`` runs this with python3).

A plugin is a folder of files, not an installed package, so this launcher finds a Python that can run the server,
in this order, and replaces itself with it (stdio passes straight through):

1. the plugin folder's own ``.venv`` (a development checkout after ``bash scripts/test``);
2. this interpreter, when it has production-fastapi installed at the plugin's version (``pip install
   <plugin folder>``, or ``pip install production-fastapi`` once it is released): the fastest start, no network;
3. ``uvx --from <plugin folder> production-fastapi mcp``: builds exactly this plugin's source (needs uv and the
   package index on the first run, cached afterwards);
4. this interpreter with another installed version of production-fastapi, saying so on stderr;
5. otherwise one line on stderr saying what to install, and exit status 1.

Only the standard library is used: this runs before anything of ours is importable. Arguments after the script
are passed on to ``production-fastapi mcp`` (for example ``--allow DIR``).
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import sys
from importlib import metadata
from pathlib import Path
from typing import NoReturn

PLUGIN_ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "production-fastapi"


def plugin_version() -> str:
    manifest = PLUGIN_ROOT / ".claude-plugin" / "plugin.json"
    return str(json.loads(manifest.read_text(encoding="utf-8"))["version"])


def installed_version() -> str | None:
    try:
        return metadata.version(PACKAGE)
    except metadata.PackageNotFoundError:
        return None


def command(argv: list[str], *, path: str | None = None) -> list[str] | None:
    """The command line that starts the server, or None when nothing here can."""
    scripts = "Scripts" if os.name == "nt" else "bin"
    checkout = PLUGIN_ROOT / ".venv" / scripts / PACKAGE
    if checkout.is_file() and os.access(checkout, os.X_OK):
        return [str(checkout), "mcp", *argv]
    installed = installed_version()
    in_process = [sys.executable, "-m", "production_fastapi", "mcp", *argv]
    if installed == plugin_version():
        return in_process
    uvx = shutil.which("uvx", path=path)
    if uvx:
        return [uvx, "--from", str(PLUGIN_ROOT), PACKAGE, "mcp", *argv]
    if installed is not None:
        print(
            f"production-fastapi: running the installed {installed} (the plugin is {plugin_version()}); "
            f"`{Path(sys.executable).name} -m pip install -U {shlex.quote(str(PLUGIN_ROOT))}` to match",
            file=sys.stderr,
        )
        return in_process
    return None


def main() -> NoReturn:
    """Exit status 1 with a message when nothing can run the server; otherwise this process becomes the server."""
    cmd = command(sys.argv[1:])
    if cmd is None:
        print(
            f"production-fastapi: cannot start the MCP server: install uv (https://docs.astral.sh/uv/) or run "
            f"`{Path(sys.executable).name} -m pip install {shlex.quote(str(PLUGIN_ROOT))}` (this plugin's own source), "
            "then restart Claude Code",
            file=sys.stderr,
        )
        sys.exit(1)
    sys.stderr.flush()
    os.execv(cmd[0], cmd)  # noqa: S606 - a fixed command line (our script, python or uvx), no shell involved


if __name__ == "__main__":
    main()
