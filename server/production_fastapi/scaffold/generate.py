"""``generate(...)``: the scaffolder's one entry point, shared by the CLI and the MCP server."""

from __future__ import annotations

import os
from pathlib import Path

from production_fastapi.bundle import BundleError
from production_fastapi.scaffold.atomic import MAX_DEST_CHARS, Within, write_tree
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
    within: Within | None = None,
) -> list[Path]:
    """Generate the service ``name`` into ``dest``; returns the absolute paths of the files written.

    Raises ScaffoldError (one sentence) for a bad name or option, a destination that is a file, a non-empty
    destination without ``force``, or a parent folder that cannot be written. Either the whole project is in
    place afterwards or the file system is as it was. ``within`` (the MCP server's allow-list) must accept the
    real folder the project is written in, checked on the open descriptor, not on a name.
    """
    spec = make_spec(name, database=database, redis=redis, python=python)
    raw = os.fspath(dest)
    if len(raw) > MAX_DEST_CHARS:
        raise ScaffoldError(f"the destination path is {len(raw):,} characters long, over the {MAX_DEST_CHARS:,} limit")
    try:
        # Resolved: a symlinked destination means its target, and the swap by rename happens beside the real folder.
        target = Path(raw).resolve()
    except (OSError, RuntimeError) as exc:
        raise ScaffoldError(f"cannot resolve the destination: {exc}") from None
    if within is not None and not within(target):
        raise ScaffoldError(
            "the destination changed and now leads outside the allowed directories; nothing was written"
        )
    try:
        return write_tree(target, fill(spec), force=force, within=within)
    except BundleError as exc:
        # A broken installation (templates/ missing): still one sentence, never a traceback.
        raise ScaffoldError(str(exc)) from None
