"""schemathesis against the scaffolded service: its OpenAPI schema, real HTTP to a real uvicorn.

The service runs as in production, where ``/openapi.json`` is switched off, so the schema is taken from the app
object (``app.openapi()``) in a subprocess and handed to schemathesis as a file. The checks are the ones the issue asks
for: no 5xx, and every response conforms to the schema (status code, content type, headers, body).
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from benchmarks.load.scaffolded import APP, PACKAGE, migrate, scaffold, seed, service_env
from benchmarks.load.server import PYTHON, free_port, running_server, uvicorn_command

CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
)
_SUMMARY = re.compile(r"(\d+) generated, (\d+) passed")


@dataclass(frozen=True)
class FuzzResult:
    exit_code: int
    generated: int
    passed: int
    output: str


def export_schema(project: Path, database_url: str, destination: Path) -> Path:
    code = f"import json, sys; from {PACKAGE}.app import app; sys.stdout.write(json.dumps(app.openapi()))"
    env = {**os.environ, **service_env(project, database_url, LOG_LEVEL="WARNING")}
    completed = subprocess.run(
        [PYTHON, "-c", code], cwd=project, env=env, capture_output=True, text=True, timeout=60, check=True
    )
    # Logging goes to stdout too; the schema is the last line.
    destination.write_text(completed.stdout.strip().splitlines()[-1])
    return destination


def fuzz_scaffolded_service(
    workdir: Path, *, database: str, database_url: str, max_time: int, max_examples: int, seed_value: int = 1
) -> FuzzResult:
    project = scaffold(workdir, database=database)
    migrate(project, database_url)
    seed(database_url, 20)
    schema = export_schema(project, database_url, workdir / "openapi.json")
    port = free_port()
    env = service_env(project, database_url)
    with running_server(uvicorn_command(APP, port), port, workdir / "server.log", env=env, cwd=project) as server:
        completed = subprocess.run(
            [
                str(Path(PYTHON).parent / "schemathesis"), "run", str(schema),
                "--url", server.base_url,
                "--checks", ",".join(CHECKS),
                "--max-examples", str(max_examples),
                "--max-time", str(max_time),
                "--seed", str(seed_value),
                "--phases", "examples,coverage,fuzzing",
                "--request-timeout", "5",
                "--generation-database", "none",
                "--no-color",
            ],
            capture_output=True, text=True, timeout=max_time + 120, check=False,
        )  # fmt: skip
    output = completed.stdout + completed.stderr
    match = _SUMMARY.search(output)
    generated, passed = (int(match.group(1)), int(match.group(2))) if match else (0, 0)
    return FuzzResult(exit_code=completed.returncode, generated=generated, passed=passed, output=output)
