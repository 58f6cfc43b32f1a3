"""A generated project installed for real: its own venv, its commands, its servers.

The venv is fresh but borrows the running interpreter's site-packages through a ``.pth`` file, so installing the
project (``pip install --no-index --no-build-isolation -e .[dev]``) downloads nothing while pip still checks that
every requirement the project declares is met. Works with this checkout's .venv and with CI's fresh one.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sysconfig
import time
import venv
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

# Variables that would point the project at someone else's services or settings.
_SCRUBBED = ("DATABASE_URL", "REDIS_URL", "TEST_DATABASE_URL", "TEST_REDIS_URL", "ENVIRONMENT", "APP_NAME", "PORT")


@dataclass(frozen=True, slots=True)
class Project:
    root: Path
    package: str
    python: Path

    def env(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in _SCRUBBED and not k.startswith("PYTEST_")}
        env["PATH"] = f"{self.python.parent}{os.pathsep}{env.get('PATH', '')}"
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        env.update(extra or {})
        return env

    def run(
        self, *args: str, env: Mapping[str, str] | None = None, timeout: float = 180
    ) -> subprocess.CompletedProcess[str]:
        """``python -m ARGS`` in the project's venv and folder."""
        return subprocess.run(
            [str(self.python), "-m", *args],
            cwd=self.root,
            env=self.env(env),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )


def install(root: Path, package: str, venv_dir: Path, *, image: Path | None = None) -> Project:
    """An editable install with the dev extra; with ``image``, what the Dockerfile does instead: a plain install of
    the project (no dev tools), and ``image`` (a folder without the source tree) as the working directory."""
    venv.EnvBuilder(with_pip=False).create(venv_dir)
    python = venv_dir / "bin" / "python"
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    (Path(site) / "_borrowed.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")
    project = Project(root=root, package=package, python=python)
    target = ["."] if image is not None else ["-e", ".[dev]"]
    offline = ("--no-index", "--no-build-isolation")
    done = project.run("pip", "install", "-q", "--disable-pip-version-check", *offline, *target)
    assert done.returncode == 0, f"pip install failed:\n{done.stdout}\n{done.stderr}"
    return project if image is None else Project(root=image, package=package, python=python)


@dataclass(slots=True)
class Server:
    process: subprocess.Popen[str]
    base_url: str

    def get(self, path: str) -> httpx.Response:
        return httpx.get(self.base_url + path, timeout=5)


def _wait_until_serving(server: Server, deadline: float) -> None:
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            _, err = server.process.communicate()
            raise AssertionError(f"server exited with {server.process.returncode} before serving:\n{err}")
        try:
            if server.get("/health/live").status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError("server did not answer /health/live within the deadline")


@contextmanager
def serve(project: Project, command: list[str], port: int, env: Mapping[str, str]) -> Iterator[Server]:
    """Start ``python -m COMMAND`` in the project; yields once /health/live answers; the caller stops it."""
    process = subprocess.Popen(
        [str(project.python), "-m", *command],
        cwd=project.root,
        env=project.env(env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    server = Server(process=process, base_url=f"http://127.0.0.1:{port}")
    try:
        _wait_until_serving(server, time.monotonic() + 30)
        yield server
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()


def stop(server: Server, timeout: float = 30) -> tuple[int, str]:
    """SIGTERM, as an orchestrator sends it; returns the exit code and everything the server wrote."""
    server.process.send_signal(signal.SIGTERM)
    out, err = server.process.communicate(timeout=timeout)
    return server.process.returncode, out + err

