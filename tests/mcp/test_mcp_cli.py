"""``production-fastapi mcp`` on the command line: arguments, refusals, and a parser that doesn't load the SDK."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from mcp_helpers import console_script, free_port

from production_fastapi.cli import CommandError
from production_fastapi.mcp.cli import is_loopback, parse_bind


@pytest.mark.parametrize(
    ("value", "expected"),
    [("127.0.0.1:8765", ("127.0.0.1", 8765)), ("localhost:80", ("localhost", 80)), ("[::1]:9000", ("::1", 9000))],
)
def test_parse_bind_accepts_host_and_port(value: str, expected: tuple[str, int]) -> None:
    assert parse_bind(value) == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("localhost", "wants HOST:PORT"),
        (":8080", "wants HOST:PORT"),
        ("host:http", "wants HOST:PORT"),
        ("host:0", "between 1 and 65535"),
        ("host:70000", "between 1 and 65535"),
        ("[not-ipv6]:80", "is not an IPv6 address"),
    ],
)
def test_parse_bind_refuses_in_one_sentence(value: str, message: str) -> None:
    with pytest.raises(CommandError, match=message):
        parse_bind(value)


def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(console_script()), *args], capture_output=True, text=True, timeout=60, cwd=cwd, check=False
    )


def test_a_missing_allowed_directory_exits_2_with_one_line(tmp_path: Path) -> None:
    result = run_cli("mcp", "--allow", str(tmp_path / "missing"))
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.strip().splitlines() == [
        f"production-fastapi mcp: allowed directory {str(tmp_path / 'missing')!r} does not exist or is not a directory"
    ]


def test_a_bad_bind_address_exits_2_before_starting(tmp_path: Path) -> None:
    result = run_cli("mcp", "--http", "everywhere", "--allow", str(tmp_path))
    assert result.returncode == 2
    assert "wants HOST:PORT" in result.stderr


def test_help_lists_the_options_without_loading_the_sdk() -> None:
    result = run_cli("mcp", "--help")
    assert result.returncode == 0
    for option in ("--http", "--allow", "--log-level"):
        assert option in result.stdout
    # The CLI imports every subcommand module to build its parser; ours must not pull the MCP SDK in.
    probe = "import sys, production_fastapi.cli as c; c.build_parser(); print('mcp' in sys.modules)"
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True)
    assert loaded.stdout.strip() == "False"


@pytest.mark.parametrize(
    ("host", "loopback"),
    [("127.0.0.1", True), ("127.8.0.1", True), ("::1", True), ("localhost", True), ("0.0.0.0", False),
     ("10.0.0.5", False), ("mcp.internal", False)],
)  # fmt: skip
def test_loopback_hosts(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


@pytest.mark.timeout(60)
def test_a_public_bind_warns_that_there_is_no_authentication(tmp_path: Path) -> None:
    with subprocess.Popen(
        [str(console_script()), "mcp", "--http", f"0.0.0.0:{free_port()}", "--allow", str(tmp_path)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    ) as process:
        try:
            assert process.stderr is not None
            first = process.stderr.readline()
        finally:
            process.terminate()
            process.wait(timeout=30)
    assert "without authentication" in first
    assert str(tmp_path) in first
