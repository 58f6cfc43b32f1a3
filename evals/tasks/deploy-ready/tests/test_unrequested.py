"""What a production deployment needs beyond "it starts": current worker, bounded shutdown, safe proxy trust,
reachable bind, jittered recycling, a non-root image without secrets."""

import re
from pathlib import Path
from typing import Any


def test_worker_class_is_the_maintained_uvicorn_worker(config: dict[str, Any]) -> None:
    # uvicorn.workers is deprecated in favour of the uvicorn-worker package.
    worker = str(config.get("worker_class", "sync"))
    assert worker.startswith("uvicorn_worker."), f"worker_class = {worker!r}"


def test_graceful_shutdown_ends_before_kubernetes_kills_the_pod(config: dict[str, Any]) -> None:
    # The kubelet sends SIGKILL 30 s after SIGTERM by default: gunicorn must finish draining before that.
    graceful = config.get("graceful_timeout")
    assert isinstance(graceful, int | float), "graceful_timeout is not set (gunicorn's default is 30 s)"
    assert 0 < graceful < 30


def test_bind_is_reachable_from_outside_the_container(config: dict[str, Any]) -> None:
    bind = config.get("bind")
    binds = [bind] if isinstance(bind, str) else list(bind or [])
    assert any(re.match(r"^(0\.0\.0\.0|\[::\]|:)", str(b)) for b in binds), f"bind = {bind!r}"


def test_proxy_trust_is_not_everyone(config: dict[str, Any], dockerfile: str) -> None:
    # Trusting X-Forwarded-For from anyone lets every client choose its own IP (rate limits, audit logs).
    assert str(config.get("forwarded_allow_ips", "")).strip() != "*"
    assert not re.search(r"forwarded[-_]allow[-_]ips[= ]+['\"]?\*", dockerfile, re.IGNORECASE)
    assert not re.search(r"FORWARDED_ALLOW_IPS\s*=?\s*['\"]?\*", dockerfile)


def test_worker_recycling_is_jittered(config: dict[str, Any]) -> None:
    # Without jitter every worker restarts at the same request count: a synchronized capacity drop.
    if config.get("max_requests"):
        assert config.get("max_requests_jitter"), "max_requests without max_requests_jitter"


def test_image_runs_as_a_non_root_user(dockerfile: str) -> None:
    users = re.findall(r"^\s*USER\s+(\S+)", dockerfile, re.MULTILINE)
    assert users, "no USER instruction: the container runs as root"
    assert users[-1] not in ("root", "0", "0:0")


def test_local_secrets_stay_out_of_the_image() -> None:
    ignore = Path.cwd() / ".dockerignore"
    assert ignore.is_file(), "no .dockerignore: `COPY . .` bakes .env and .git into the image"
    patterns = [line.strip() for line in ignore.read_text(encoding="utf-8").splitlines()]
    assert any(p in (".env", ".env*", "*.env", ".env.*", "**/.env", "*") for p in patterns)
