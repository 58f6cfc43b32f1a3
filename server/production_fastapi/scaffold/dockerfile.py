"""The templates' Dockerfile, pointed at the generated package instead of the template's ``app/``.

templates/Dockerfile is the single source; only the lines naming the Python version, the package and the app
object differ per project. Each substitution must match exactly once: if the template changes shape, generation
fails loudly (and the scaffolder's tests with it) instead of shipping an image that cannot start.
"""

from __future__ import annotations

import re

from production_fastapi.scaffold.errors import ScaffoldError
from production_fastapi.scaffold.spec import ProjectSpec

__all__ = ["adapt_dockerfile"]


def _substitutions(spec: ProjectSpec) -> list[tuple[re.Pattern[str], str]]:
    package = spec.package
    return [
        (re.compile(r"^ARG PYTHON_VERSION=\S+$", re.M), f"ARG PYTHON_VERSION={spec.python}"),
        (re.compile(r"^COPY app \./app$", re.M), f"COPY {package} ./{package}"),
        (
            re.compile(r'^CMD \["gunicorn", "-c", "python:app\.gunicorn_conf", "app\.main:app"\]$', re.M),
            f'CMD ["gunicorn", "-c", "python:{package}.gunicorn_conf", "{package}.app:app"]',
        ),
    ]


def adapt_dockerfile(text: str, spec: ProjectSpec) -> str:
    for pattern, replacement in _substitutions(spec):
        text, count = pattern.subn(replacement.replace("\\", "\\\\"), text)
        if count != 1:
            raise ScaffoldError(
                f"templates/Dockerfile has {count} lines matching {pattern.pattern!r} (expected 1): "
                "the scaffolder no longer fits the template; update production_fastapi/scaffold/dockerfile.py"
            )
    return text
