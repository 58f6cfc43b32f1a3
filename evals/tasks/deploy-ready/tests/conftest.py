import runpy
from pathlib import Path
from typing import Any

import pytest

SKIP = {"_eval_checks", ".venv", "venv", ".git", "tests", "node_modules"}


def find_config() -> Path | None:
    for path in sorted(Path.cwd().rglob("gunicorn_conf.py")):
        if not SKIP.intersection(path.relative_to(Path.cwd()).parts):
            return path
    return None


@pytest.fixture
def config_path() -> Path:
    path = find_config()
    assert path is not None, "no gunicorn_conf.py in the repository"
    return path


@pytest.fixture
def config(config_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """The settings the file defines, read the way gunicorn reads them (executing the module) with a clean env."""
    for name in ("PORT", "WEB_CONCURRENCY", "GRACEFUL_TIMEOUT", "FORWARDED_ALLOW_IPS", "TRUSTED_PROXIES"):
        monkeypatch.delenv(name, raising=False)
    return runpy.run_path(str(config_path))


@pytest.fixture
def dockerfile() -> str:
    path = Path.cwd() / "Dockerfile"
    assert path.is_file(), "no Dockerfile at the repository root"
    return path.read_text(encoding="utf-8")
