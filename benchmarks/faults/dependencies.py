"""Dependency outages while the service runs: Postgres and Redis behind FaultProxy, switched to refuse or blackhole.

The helpers here time each probe and request, so the tests and the fuller run report the same figures.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx

from benchmarks.faults.proxy import FaultProxy
from benchmarks.load.server import ServerProcess, free_port, running_server, uvicorn_command

APP = "benchmarks.faults.app:create_fault_app"
# Kubernetes' default probe timeout; the templates' per-check timeout (0.8 s) sits below it.
PROBE_BUDGET_SECONDS = 1.0
# What a problem+json body must never show a client: tracebacks, driver names, addresses.
LEAK_MARKERS = ("Traceback", 'File "', "asyncpg", "sqlalchemy", "redis.exceptions", "OperationalError", "127.0.0.1")


@dataclass(frozen=True)
class Timed:
    status: int
    seconds: float
    content_type: str
    body: str

    def json(self) -> object:
        return httpx.Response(self.status, text=self.body).json()


def timed_get(client: httpx.Client, path: str) -> Timed:
    start = time.monotonic()
    try:
        response = client.get(path)
    except httpx.TransportError as error:
        # Status 0: the server closed the connection without an answer; the body says how.
        return Timed(status=0, seconds=time.monotonic() - start, content_type="", body=f"transport error: {error!r}")
    return Timed(
        status=response.status_code,
        seconds=time.monotonic() - start,
        content_type=response.headers.get("content-type", ""),
        body=response.text,
    )


def wait_until_ready(client: httpx.Client, timeout: float = 15.0) -> float:
    """Seconds until /health/ready answers 200 (recovery time); raises TimeoutError if it never does."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if client.get("/health/ready").status_code == 200:
            return time.monotonic() - start
        time.sleep(0.1)
    raise TimeoutError(f"/health/ready did not return to 200 within {timeout}s")


def through_proxy(url: str, port: int, path: str | None = None) -> str:
    """``url`` with its host:port replaced by the proxy's loopback port (and optionally its path)."""
    parts = urlsplit(url)
    credentials = parts.netloc.rpartition("@")[0]
    netloc = f"{credentials}@127.0.0.1:{port}" if credentials else f"127.0.0.1:{port}"
    return urlunsplit((parts.scheme, netloc, path if path is not None else parts.path, parts.query, parts.fragment))


def target_of(url: str, default_port: int) -> tuple[str, int]:
    parts = urlsplit(url)
    return parts.hostname or "127.0.0.1", parts.port or default_port


@dataclass
class Stack:
    server: ServerProcess
    postgres: FaultProxy
    redis: FaultProxy
    client: httpx.Client
    app_name: str


@contextmanager
def service_behind_proxies(
    database_url: str,
    redis_url: str,
    workdir: Path,
    *,
    extra_env: dict[str, str] | None = None,
    app: str = APP,
) -> Iterator[Stack]:
    """The fault app under uvicorn, reaching Postgres and Redis only through two FaultProxy instances."""
    with (
        FaultProxy(*target_of(database_url, 5432)) as postgres,
        FaultProxy(*target_of(redis_url, 6379)) as redis,
    ):
        port = free_port()
        app_name = f"pf-faults-{port}"
        env = {
            "DATABASE_URL": through_proxy(database_url, postgres.port),
            "REDIS_URL": through_proxy(redis_url, redis.port),
            "ENVIRONMENT": "test",
            "APP_NAME": app_name,  # its own rate-limit key prefix in the shared Redis
            **(extra_env or {}),
        }
        with (
            running_server(uvicorn_command(app, port, factory=True), port, workdir / "server.log", env=env) as server,
            # A new connection per request: each outage probe is timed on its own, with no keep-alive state from
            # the previous one (keep-alive after errors is measured separately: keep_alive_requests_failed_after_500).
            httpx.Client(
                base_url=server.base_url, timeout=30, limits=httpx.Limits(max_keepalive_connections=0)
            ) as client,
        ):
            yield Stack(server=server, postgres=postgres, redis=redis, client=client, app_name=app_name)
