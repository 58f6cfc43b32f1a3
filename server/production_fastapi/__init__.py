"""production-fastapi: FastAPI production rules as a skill, templates, a reviewer, a scaffolder and an MCP server."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("production-fastapi")
except PackageNotFoundError:  # pragma: no cover - running from a checkout without installing
    __version__ = "0.0.0+checkout"

__all__ = ["__version__"]
