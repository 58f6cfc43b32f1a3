"""``production-fastapi scaffold NAME --dest DIR``: generate a production-ready FastAPI service."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from production_fastapi.cli import EXIT_OK, CommandError
from production_fastapi.scaffold.spec import DATABASES

_DEFAULT_PYTHON = "3.11"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "name", metavar="NAME", help="project name, e.g. orders-service (the package becomes orders_service)"
    )
    parser.add_argument(
        "--dest", type=Path, metavar="DIR", help="folder to create (default: ./NAME); must be empty or new"
    )
    parser.add_argument(
        "--database",
        choices=DATABASES,
        default="sqlite",
        help="database the project is set up for (default sqlite: runs with no services); "
        "DATABASE_URL picks another at run time",
    )
    parser.add_argument(
        "--redis",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="set the project up for Redis rate limits and readiness (default: in-memory); REDIS_URL switches it "
        "on at run time",
    )
    parser.add_argument(
        "--python", default=_DEFAULT_PYTHON, metavar="X.Y", help=f"target Python X.Y (default {_DEFAULT_PYTHON})"
    )
    parser.add_argument("--force", action="store_true", help="replace the content of a non-empty destination")


def run(args: argparse.Namespace) -> int:
    from production_fastapi.scaffold import ScaffoldError, generate

    dest: Path = args.dest if args.dest is not None else Path(args.name)
    try:
        written = generate(
            args.name, dest, database=args.database, redis=args.redis, python=args.python, force=args.force
        )
    except ScaffoldError as exc:
        raise CommandError(str(exc)) from None
    print(f"scaffolded {args.name} into {os.path.abspath(dest)} ({len(written)} files)")
    print(f"next: cd {dest} && python -m venv .venv && .venv/bin/pip install -e '.[dev]' && .venv/bin/pytest")
    return EXIT_OK
