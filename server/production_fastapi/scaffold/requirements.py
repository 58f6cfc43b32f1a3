"""The generated project's dependency ranges, read from production-fastapi's own metadata.

The ``templates`` extra of this package is the one place that says which versions the templates are written and
tested against; the generated service pins the same ranges, so they are never typed twice. The ``dev`` extra
supplies the ranges of the test and lint tools the generated project's own ``dev`` extra needs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib import metadata

from production_fastapi.scaffold.errors import ScaffoldError

__all__ = ["Requirements", "requirements"]

_DISTRIBUTION = "production-fastapi"
# The generated project's dev tools, by distribution name: what its tests, lint and type check run.
_DEV_TOOLS = ("pytest", "pytest-timeout", "anyio", "ruff", "mypy")
# "fastapi run" lives in fastapi-cli, which the "standard" extra brings.
_EXTRA_EXTRAS = {"fastapi": "standard"}
_REQUIREMENT = re.compile(
    r"^(?P<name>[A-Za-z0-9._-]+)(?:\[(?P<extras>[^\]]*)\])?\s*(?P<spec>[^;]*?)\s*(?:;(?P<marker>.*))?$"
)
_EXTRA_MARKER = re.compile(r"""extra\s*==\s*["']([^"']+)["']""")


@dataclass(frozen=True, slots=True)
class Requirements:
    runtime: tuple[str, ...]
    dev: tuple[str, ...]


def _ordered(spec: str) -> str:
    """Lower bound first (``>=0.165,<0.200``): metadata sorts specifiers alphabetically, people read bounds."""
    parts = [part.strip() for part in spec.split(",") if part.strip()]
    return ",".join(sorted(parts, key=lambda part: (not part.startswith(">"), part)))


def _format(name: str, extras: set[str], spec: str) -> str:
    extras_text = f"[{','.join(sorted(extras))}]" if extras else ""
    return f"{name}{extras_text}{_ordered(spec)}"


@cache
def requirements() -> Requirements:
    """Runtime and dev requirement strings for the generated pyproject.toml."""
    try:
        declared = metadata.requires(_DISTRIBUTION) or []
    except metadata.PackageNotFoundError:
        raise ScaffoldError(
            "production-fastapi is not installed, so its dependency ranges are unknown: install it (pip install -e .)"
        ) from None
    runtime: list[str] = []
    dev: dict[str, str] = {}
    for line in declared:
        match = _REQUIREMENT.match(line.strip())
        if match is None:
            continue
        name, spec = match["name"], match["spec"]
        extras = {e.strip() for e in (match["extras"] or "").split(",") if e.strip()}
        marker_extra = _EXTRA_MARKER.search(match["marker"] or "")
        group = marker_extra.group(1) if marker_extra else None
        if group == "templates":
            extras |= {_EXTRA_EXTRAS[name]} if name in _EXTRA_EXTRAS else set()
            runtime.append(_format(name, extras, spec))
        elif group == "dev" and name in _DEV_TOOLS:
            dev[name] = _format(name, extras, spec)
    if not runtime:
        raise ScaffoldError("production-fastapi's metadata has no 'templates' extra: reinstall production-fastapi")
    return Requirements(runtime=tuple(sorted(runtime)), dev=tuple(dev[name] for name in _DEV_TOOLS if name in dev))
