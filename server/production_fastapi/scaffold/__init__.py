"""The scaffolder: generate a FastAPI service built from templates/ that is production-ready when written.

``generate(name, dest, ...)`` is the API the CLI (``production-fastapi scaffold``) and the MCP server call; it
raises ``ScaffoldError`` with one clear sentence for bad input. jinja2 is imported only when rendering, so
importing this package stays cheap.
"""

from production_fastapi.scaffold.errors import ScaffoldError
from production_fastapi.scaffold.generate import generate
from production_fastapi.scaffold.spec import DATABASES, SUPPORTED_PYTHONS, package_name_for

__all__ = ["DATABASES", "SUPPORTED_PYTHONS", "ScaffoldError", "generate", "package_name_for"]
