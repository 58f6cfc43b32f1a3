"""``production-fastapi mcp [--http HOST:PORT] [--allow DIR ...]``: run the MCP server.

stdio by default, which is how Claude Code, Cursor and VS Code start a local server; ``--http`` serves streamable
HTTP instead. On stdio, stdout carries the protocol, so every log line goes to stderr. The SDK is imported inside
``run``: the CLI imports this module to build its parser, and ``--help`` must not pay for it.
"""

from __future__ import annotations

import argparse
import ipaddress
import logging
import sys
from pathlib import Path

from production_fastapi.cli import EXIT_OK, CommandError
from production_fastapi.mcp.paths import ALLOW_ENV

__all__ = ["configure", "is_loopback", "parse_bind", "run"]


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--http",
        metavar="HOST:PORT",
        help="serve streamable HTTP at http://HOST:PORT/mcp instead of stdio (e.g. 127.0.0.1:8765)",
    )
    parser.add_argument(
        "--allow",
        metavar="DIR",
        action="append",
        type=Path,
        default=[],
        help=f"a directory the tools may read and write (repeatable; default: ${ALLOW_ENV}, else the working "
        "directory); client roots can only narrow it",
    )
    parser.add_argument(
        "--log-level",
        choices=("DEBUG", "INFO", "WARNING", "ERROR"),
        default="WARNING",
        help="stderr log level (default: WARNING)",
    )


def parse_bind(value: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[::1]:PORT`` for IPv6) as a host and a port, or one sentence saying what is wrong."""
    host, sep, port_text = value.rpartition(":")
    if not sep or not host or not port_text.isdigit():
        raise CommandError(f"--http wants HOST:PORT such as 127.0.0.1:8765, not {value!r}")
    port = int(port_text)
    if not 0 < port < 65536:
        raise CommandError(f"--http port must be between 1 and 65535, not {port}")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise CommandError(f"--http host {host!r} is not an IPv6 address") from None
    return host, port


def is_loopback(host: str) -> bool:
    """Whether only this machine can reach ``host`` (a name other than localhost counts as reachable)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _configure_logging(level: str) -> None:
    # Our own handler on stderr before the SDK sets up logging: its basicConfig then leaves the root alone, and
    # nothing ever writes to stdout, which belongs to the protocol on stdio.
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)


def run(args: argparse.Namespace) -> int:
    bind = parse_bind(args.http) if args.http else None
    _configure_logging(args.log_level)
    from production_fastapi.mcp.paths import PathPolicy

    try:
        policy = PathPolicy.from_environment(args.allow)
    except ValueError as exc:
        raise CommandError(str(exc)) from None

    import anyio

    from production_fastapi.mcp.server import build_server

    server = build_server(policy)
    # The SDK configures its own logging at construction; put the level the user asked for back.
    logging.getLogger().setLevel(args.log_level)
    if bind is None:
        anyio.run(server.run_stdio_async)
    else:
        host, port = bind
        if not is_loopback(host):
            # The server has no authentication, and the SDK checks Host/Origin headers only on loopback binds.
            logging.getLogger(__name__).warning(
                "serving MCP on %s:%d without authentication: whoever reaches it can read and write inside %s; "
                "bind 127.0.0.1 unless a proxy in front of it authenticates",
                host,
                port,
                policy.describe(),
            )
        anyio.run(lambda: server.run_streamable_http_async(host=host, port=port))
    return EXIT_OK
