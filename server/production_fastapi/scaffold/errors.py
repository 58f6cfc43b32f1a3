"""The one exception the scaffolder raises for bad input: its message is a sentence meant for a person."""

from __future__ import annotations

__all__ = ["ScaffoldError"]


class ScaffoldError(ValueError):
    """Bad input or an unusable destination; nothing was written (or everything written was removed)."""
