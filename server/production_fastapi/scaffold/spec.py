"""What to generate: a project name checked and turned into a package name, plus the options.

The distribution name (``orders-service``) follows the packaging naming rules; the import package name
(``orders_service``) is derived from it and must be an identifier that imports cleanly: no keyword, nothing that
hides a standard-library module or one of the service's own dependencies, nothing that collides with the project's
own top-level folders.
"""

from __future__ import annotations

import importlib.machinery
import keyword
import os
import re
import sys
from dataclasses import dataclass
from typing import Literal

from production_fastapi.scaffold.errors import ScaffoldError

__all__ = ["DATABASES", "SUPPORTED_PYTHONS", "Database", "ProjectSpec", "make_spec", "package_name_for"]

Database = Literal["sqlite", "postgres"]
DATABASES: tuple[Database, ...] = ("sqlite", "postgres")
# The templates use 3.11 features (datetime.UTC, TaskGroup); the newest entry is the newest CPython image we know.
SUPPORTED_PYTHONS = ("3.11", "3.12", "3.13", "3.14")

# A valid distribution name per the packaging spec (letters, digits, and . _ - inside).
_DIST_NAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?$")
# Import names the generated project imports, directly or through its dependencies (pydantic needs pydantic_core
# and typing_extensions, httpx needs httpcore and h11...): a package with one of these names would hide the real
# module in the project's environment and break its imports.
_TAKEN = frozenset(
    {
        "alembic", "aiosqlite", "anyio", "asyncpg", "fastapi", "gunicorn", "httpx", "limits", "migrations", "mypy",
        "pydantic", "pydantic_settings", "pytest", "redis", "sqlalchemy", "starlette", "structlog", "tests",
        "uvicorn", "uvicorn_worker", "production_fastapi",
        "pydantic_core", "typing_extensions", "typing_inspection", "annotated_types", "annotated_doc", "dotenv",
        "sniffio", "idna", "h11", "httpcore", "certifi", "click", "greenlet", "mako", "markupsafe", "jinja2",
        "packaging", "deprecated", "wrapt", "multipart", "python_multipart", "email_validator", "dns", "uvloop",
        "httptools", "websockets", "watchfiles", "yaml", "rich", "typer", "fastapi_cli", "pluggy", "iniconfig",
        "_pytest", "mypy_extensions", "pathspec", "ruff", "async_timeout", "hiredis", "asgi_lifespan",
        "pytest_asyncio", "anyio_pytest", "coverage", "pytest_cov", "tomli", "exceptiongroup", "psycopg",
        "psycopg2", "pygments", "markdown_it", "mdurl", "shellingham",
    }
)  # fmt: skip
#: Longer names make unwieldy packages and, with the staging suffix, brush against the 255-byte name limit.
MAX_NAME_CHARS = 64


@dataclass(frozen=True, slots=True)
class ProjectSpec:
    """A checked request: every field is valid, so rendering never has to guess."""

    name: str
    package: str
    database: Database
    redis: bool
    python: str

    @property
    def python_tag(self) -> str:
        """``py311`` for ruff's target-version."""
        return "py" + self.python.replace(".", "")


def _installed(package: str) -> bool:
    """Whether ``package`` is importable from an installed location (site-packages and the like, not the working
    directory): a project of that name would hide it. One directory listing per path entry, cached by Python;
    reading every distribution's metadata instead would cost a third of a second."""
    here = os.getcwd()
    entries = [entry for entry in sys.path if entry and os.path.abspath(entry) != here]
    try:
        return importlib.machinery.PathFinder.find_spec(package, entries) is not None
    except (ImportError, OSError, ValueError):
        return False


def package_name_for(name: str) -> str:
    """``orders-service`` -> ``orders_service``; raises ScaffoldError when the result cannot be a package."""
    if len(name) > MAX_NAME_CHARS:
        raise ScaffoldError(
            f"project name is {len(name)} characters long, over the {MAX_NAME_CHARS}-character limit; "
            "choose a shorter one"
        )
    if not _DIST_NAME.fullmatch(name):
        raise ScaffoldError(
            f"invalid project name {name!r}: use letters, digits, '-', '_' or '.', "
            "starting and ending with a letter or digit (e.g. orders-service)"
        )
    package = re.sub(r"[-.]+", "_", name).lower()
    if not package.isidentifier() or not package.isascii():
        raise ScaffoldError(
            f"project name {name!r} gives the package name {package!r}, which is not a Python identifier "
            "(it must not start with a digit)"
        )
    if keyword.iskeyword(package):
        raise ScaffoldError(f"project name {name!r} gives the package name {package!r}, which is a Python keyword")
    if package in sys.stdlib_module_names:
        raise ScaffoldError(
            f"project name {name!r} gives the package name {package!r}, which would hide the standard-library "
            f"module {package!r}; pick another name (e.g. {package}-service)"
        )
    if package in _TAKEN:
        raise ScaffoldError(
            f"project name {name!r} gives the package name {package!r}, which would hide a module the service "
            f"itself imports; pick another name (e.g. {package}-service)"
        )
    if _installed(package):
        raise ScaffoldError(
            f"project name {name!r} gives the package name {package!r}, which would hide the installed package "
            f"{package!r}; pick another name (e.g. {package}-service)"
        )
    return package


def make_spec(name: str, *, database: str, redis: bool, python: str) -> ProjectSpec:
    """Check every option and return the spec; the first problem found raises ScaffoldError."""
    package = package_name_for(name)
    if database not in DATABASES:
        raise ScaffoldError(f"unknown database {database!r}: choose one of {', '.join(DATABASES)}")
    if python not in SUPPORTED_PYTHONS:
        raise ScaffoldError(f"unsupported Python {python!r}: choose one of {', '.join(SUPPORTED_PYTHONS)}")
    chosen: Database = "postgres" if database == "postgres" else "sqlite"
    return ProjectSpec(name=name, package=package, database=chosen, redis=redis, python=python)
