"""The two files the instruction names, and the app actually serving under gunicorn with that config."""

import re
import subprocess
import sys
from pathlib import Path

import httpx
from pf_eval import Server


def test_gunicorn_serves_the_app_with_the_config(config_path: Path) -> None:
    command = [
        sys.executable, "-m", "gunicorn", "-c", str(config_path), "--bind", "127.0.0.1:{port}", "--workers", "1",
        "app.main:app",
    ]
    with Server(command) as server:
        response = httpx.get(f"{server.url}/products/1", timeout=10)
        assert response.status_code == 200
        assert response.json()["name"] == "kettle"
        assert server.stop() == 0, server.output()[-2000:]


def test_dockerfile_starts_a_server(dockerfile: str) -> None:
    starts = [line for line in dockerfile.splitlines() if re.match(r"\s*(CMD|ENTRYPOINT)\b", line)]
    assert starts, "the Dockerfile has no CMD or ENTRYPOINT"
    assert re.search(r"gunicorn|uvicorn|fastapi", "\n".join(starts))
    assert subprocess.run([sys.executable, "-c", "import gunicorn"], check=False).returncode == 0
