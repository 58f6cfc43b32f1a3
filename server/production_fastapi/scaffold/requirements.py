"""The generated project's dependency ranges, read from production-fastapi's own declaration.

The ``templates`` extra of this package is the one place that says which versions the templates are written and
tested against; the generated service pins the same ranges, so they are never typed twice. The ``dev`` extra
supplies the ranges of the test and lint tools the generated project's own ``dev`` extra needs.

In a checkout the extras come from pyproject.toml beside the templates being copied (an editable install's metadata
goes stale as soon as someone edits pyproject.toml); in an installed wheel, from the package's metadata.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import metadata

from production_fastapi import bundle
from production_fastapi.scaffold.errors import ScaffoldError

__all__ = ["Requirements", "requirements"]

_DISTRIBUTION = "production-fastapi"
# The generated project's dev tools, by distribution name: what its tests, lint and type check run.
_DEV_TOOLS = ("pytest", "pytest-timeout", "anyio", "ruff", "mypy")
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


def _from_checkout() -> list[str] | None:
    pyproject = bundle.bundle_root() / "pyproject.toml"
    if not pyproject.is_file():
        return None
    project = tomllib.loads(pyproject.read_text(encoding="utf-8")).get("project", {})
    if project.get("name") != _DISTRIBUTION:
        return None
    extras = project.get("optional-dependencies", {})
    # The same shape as metadata.requires(): one requirement per line, its extra as a marker.
    return [f'{line}; extra == "{group}"' for group in ("templates", "dev") for line in extras.get(group, [])]


def _declared() -> list[str]:
    from_checkout = _from_checkout()
    if from_checkout is not None:
        return from_checkout
    try:
        return metadata.requires(_DISTRIBUTION) or []
    except metadata.PackageNotFoundError:
        raise ScaffoldError(
            "production-fastapi is not installed, so its dependency ranges are unknown: install it (pip install -e .)"
        ) from None


@cache
def requirements() -> Requirements:
    """Runtime and dev requirement strings for the generated pyproject.toml."""
    declared = _declared()
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
            runtime.append(_format(name, extras, spec))
        elif group == "dev" and name in _DEV_TOOLS:
            dev[name] = _format(name, extras, spec)
    if not runtime:
        raise ScaffoldError("production-fastapi's metadata has no 'templates' extra: reinstall production-fastapi")
    return Requirements(runtime=tuple(sorted(runtime)), dev=tuple(dev[name] for name in _DEV_TOOLS if name in dev))
