"""Fill a staging folder: the templates copied verbatim (the Dockerfile pointed at the package), then the
per-project files rendered from blueprints.

Blueprints live in ``blueprints/`` and mirror the generated tree. In their paths ``__package__`` becomes the import
package name and a leading ``dot-`` becomes ``.`` (so packaging tools never mistake them for our own dotfiles).
Files ending in ``.j2`` are rendered with jinja2; every other blueprint is copied as it is (Alembic's
``script.py.mako`` has its own template syntax).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from production_fastapi import bundle
from production_fastapi.scaffold.dockerfile import adapt_dockerfile
from production_fastapi.scaffold.errors import ScaffoldError
from production_fastapi.scaffold.requirements import requirements
from production_fastapi.scaffold.spec import ProjectSpec

if TYPE_CHECKING:
    import jinja2

__all__ = ["BLUEPRINTS", "fill"]

BLUEPRINTS = Path(__file__).resolve().parent / "blueprints"
# Templates that belong at the project root (the image build); every other template goes into the package, which
# includes gunicorn_conf.py: the runtime image holds only the installed package, and gunicorn loads it from there.
_ROOT_TEMPLATES = frozenset({"Dockerfile", ".dockerignore"})
# templates/ plumbing: the generated package gets its own __init__.py and py.typed from the blueprints.
# body_limit.py and validation_errors.py are for existing apps that keep FastAPI's {"detail": ...} errors; a new
# service gets the problem+json versions in middleware.py and error_handlers.py.
_SKIP_TEMPLATES = frozenset({"__init__.py", "py.typed", "body_limit.py", "validation_errors.py"})


@cache
def _environment() -> jinja2.Environment:
    # Imported here: the CLI imports this package to build its parser, and jinja2 is only needed to generate.
    import jinja2

    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(BLUEPRINTS),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,  # noqa: S701 - we render Python, TOML and Markdown, never HTML
    )


def _target(relative: PurePosixPath, package: str) -> PurePosixPath:
    parts = [package if part == "__package__" else part for part in relative.parts]
    parts = ["." + part[len("dot-") :] if part.startswith("dot-") else part for part in parts]
    target = PurePosixPath(*parts)
    return target.with_suffix("") if target.suffix == ".j2" else target


def _blueprints() -> list[PurePosixPath]:
    return sorted(
        PurePosixPath(path.relative_to(BLUEPRINTS).as_posix())
        for path in BLUEPRINTS.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    )


def _context(spec: ProjectSpec) -> dict[str, object]:
    reqs = requirements()
    return {
        "name": spec.name,
        "package": spec.package,
        "database": spec.database,
        "redis": spec.redis,
        "python": spec.python,
        "python_tag": spec.python_tag,
        "runtime_requirements": reqs.runtime,
        "dev_requirements": reqs.dev,
    }


def _templates() -> list[Path]:
    """The template files to copy. Listed directly rather than through ``bundle.list_templates()``, which parses
    every header (a third of a cold run's time) for descriptions the scaffolder doesn't need."""
    folder = bundle.templates_dir()
    return sorted(path for path in folder.iterdir() if path.is_file() and path.name not in _SKIP_TEMPLATES)


def fill(spec: ProjectSpec) -> list[tuple[PurePosixPath, bytes]]:
    """The project's files as (relative path, content), sorted: rendered in memory, so the writer alone touches the
    destination, through descriptors (see ``atomic``)."""
    files: dict[PurePosixPath, bytes] = {}

    def place(relative: PurePosixPath, content: bytes) -> None:
        if relative in files:
            # A template and a blueprint naming the same file: one would silently replace the other.
            raise ScaffoldError(f"two sources write {relative}: a template and a blueprint collide; rename one of them")
        files[relative] = content

    for template in _templates():
        folder = PurePosixPath() if template.name in _ROOT_TEMPLATES else PurePosixPath(spec.package)
        if template.name == "Dockerfile":
            text = adapt_dockerfile(template.read_text(encoding="utf-8"), spec)
            place(folder / template.name, text.encode("utf-8"))
        else:
            place(folder / template.name, template.read_bytes())

    environment = _environment()
    context = _context(spec)
    for relative in _blueprints():
        if relative.suffix == ".j2":
            text = environment.get_template(relative.as_posix()).render(context)
            place(_target(relative, spec.package), text.encode("utf-8"))
        else:
            place(_target(relative, spec.package), (BLUEPRINTS / relative).read_bytes())
    return sorted(files.items())
