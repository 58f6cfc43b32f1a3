"""``generate(...)``: the scaffolder's one entry point, shared by the CLI and the MCP server."""

from __future__ import annotations

import os
from pathlib import Path

from production_fastapi.bundle import BundleError
from production_fastapi.scaffold.atomic import write_tree
from production_fastapi.scaffold.errors import ScaffoldError
from production_fastapi.scaffold.render import fill
from production_fastapi.scaffold.spec import make_spec

__all__ = ["generate"]


def generate(
    name: str,
    dest: Path | str,
    *,
    database: str = "sqlite",
    redis: bool = False,
    python: str = "3.11",
    force: bool = False,
) -> list[Path]:
    """Generate the service ``name`` into ``dest``; returns the absolute paths of the files written.

    Raises ScaffoldError (one sentence) for a bad name or option, a destination that is a file, a non-empty
    destination without ``force``, or a parent folder that cannot be written. Either the whole project is in
    place afterwards or the file system is as it was.
    """
    spec = make_spec(name, database=database, redis=redis, python=python)
    # Resolved: a symlinked destination means its target, and the swap-by-rename must happen beside the real folder.
    target = Path(os.fspath(dest)).resolve()
    try:
        return write_tree(target, lambda staging: fill(staging, spec), force=force)
    except BundleError as exc:
        # A broken installation (templates/ missing): still one sentence, never a traceback.
        raise ScaffoldError(str(exc)) from None
