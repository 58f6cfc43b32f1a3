"""Where the evals live: ``evals/`` of a checkout (tasks, support, recorded runs, triggers, the Claude suite).

The wheel does not carry the tasks (they are large and only useful next to a repository), so a command that needs
them takes ``--evals-dir`` or finds ``evals/`` in the checkout this package was installed from.
"""

from __future__ import annotations

from pathlib import Path

from production_fastapi.cli import CommandError

__all__ = ["evals_root", "tasks_root"]

_CHECKOUT_EVALS = Path(__file__).resolve().parents[3] / "evals"
_override: Path | None = None


def set_evals_root(path: Path | None) -> None:
    global _override  # noqa: PLW0603 - one process-wide setting chosen by the CLI's --evals-dir
    _override = path


def evals_root() -> Path:
    root = _override or _CHECKOUT_EVALS
    if not (root / "support").is_dir():
        raise CommandError(
            f"{root} is not an evals folder (no support/); pass --evals-dir pointing at a checkout's evals/"
        )
    return root


def tasks_root() -> Path:
    return evals_root() / "tasks"
