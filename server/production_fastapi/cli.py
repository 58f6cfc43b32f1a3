"""The ``production-fastapi`` command.

Each subcommand lives in its own module exposing ``configure(parser)`` and ``run(args) -> int``; this file only
routes. Subcommand modules import their heavy dependencies inside ``run`` so that ``--help`` and the MCP server's
cold start stay fast.

Exit codes follow linters: 0 success, 1 findings (review) or a failed check, 2 usage or I/O error.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, cast

from production_fastapi import __version__

__all__ = ["EXIT_ERROR", "EXIT_FINDINGS", "EXIT_OK", "CommandError", "main"]

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_ERROR = 2


class CommandError(Exception):
    """A user-facing failure: printed as one line on stderr, exit code 2, no traceback."""


class _CommandModule(Protocol):
    def configure(self, parser: argparse.ArgumentParser) -> None: ...

    def run(self, args: argparse.Namespace) -> int: ...


@dataclass(frozen=True, slots=True)
class _Command:
    name: str
    module: str
    help: str


_COMMANDS: tuple[_Command, ...] = (
    _Command("review", "production_fastapi.review.cli", "check FastAPI code against the production rules"),
    _Command("rule", "production_fastapi.rules.cli", "explain a rule, or list them all"),
    _Command("scaffold", "production_fastapi.scaffold.cli", "generate a production-ready FastAPI service"),
    _Command("template", "production_fastapi.template_cli", "print a template, or list them"),
    _Command("install", "production_fastapi.install", "install the skill where an agent looks for it"),
    _Command("mcp", "production_fastapi.mcp.cli", "run the MCP server (stdio, or streamable HTTP)"),
    _Command("eval", "production_fastapi.evals.cli", "validate, run and report the agent evals"),
)


def _load(command: _Command) -> _CommandModule | None:
    try:
        return cast(_CommandModule, importlib.import_module(command.module))
    except ModuleNotFoundError as exc:
        # Only a missing subcommand module is tolerated (a partial install); a broken import inside it is a bug.
        if exc.name and (command.module + ".").startswith(exc.name + "."):
            return None
        raise


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="production-fastapi",
        description="Production rules for FastAPI: review code, print templates, scaffold services, serve MCP.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for command in _COMMANDS:
        module = _load(command)
        if module is None:
            continue
        sub = subparsers.add_parser(command.name, help=command.help, description=command.help)
        module.configure(sub)
        sub.set_defaults(_run=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args._run(args))
    except CommandError as exc:
        print(f"production-fastapi {args.command}: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # `production-fastapi review . | head`: the reader left; nothing to report.
        return EXIT_OK
