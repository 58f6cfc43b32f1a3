"""Helpers the hidden tests import: the agent's app in-process with its lifespan, a real uvicorn process, and a
fake upstream HTTP service.

Hidden tests must work with whatever shape of code an agent writes, so they reach the app only through the import
string the task names (``PF_EVAL_APP``, e.g. ``app.main:app``) and through HTTP. In-process runs drive the ASGI
lifespan the way uvicorn does (startup, per-request copy of the lifespan state, shutdown) so apps that create their
clients in a lifespan behave as they would under a server.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

ASGIApp = Callable[..., Any]

# Alternatives an agent may reasonably choose; unrequested checks accept any of them.
LIVENESS_PATHS = ("/health/live", "/healthz", "/livez", "/health/liveness", "/live", "/health")
READINESS_PATHS = ("/health/ready", "/readyz", "/health/readiness", "/ready", "/health")


def app_ref() -> str:
    ref = os.environ.get("PF_EVAL_APP", "")
    if ":" not in ref:
        raise RuntimeError("PF_EVAL_APP must name the app as module:attribute (the harness sets it from task.toml)")
    return ref


def import_app(env: Mapping[str, str] | None = None) -> ASGIApp:
    """Import the app afresh (its whole top-level package), with ``env`` applied while it imports.

    Settings are usually read at import time or cached; dropping the package from ``sys.modules`` gives each call
    the configuration it asks for. The environment stays applied, since lifespans read it too.
    """
    module_name, _, attribute = app_ref().partition(":")
    top = module_name.split(".")[0]
    for name in list(sys.modules):
        if name == top or name.startswith(top + "."):
            del sys.modules[name]
    for key, value in (env or {}).items():
        os.environ[key] = value
    module = importlib.import_module(module_name)
    app: Any = module
    for part in attribute.split("."):
        app = getattr(app, part)
    if callable(app) and not hasattr(app, "router") and attribute.startswith("create"):
        app = app()
    return app  # type: ignore[no-any-return]


class _Lifespan:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.state: dict[str, Any] = {}
        self._receive: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._send: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    async def _wait(self, expected: str) -> None:
        assert self._task is not None
        getter = asyncio.ensure_future(self._send.get())
        done, _ = await asyncio.wait({getter, self._task}, return_when=asyncio.FIRST_COMPLETED, timeout=15)
        if getter in done:
            message = getter.result()
            if message["type"] != expected:
                raise RuntimeError(f"lifespan answered {message['type']}: {message.get('message', '')}")
            return
        getter.cancel()
        if self._task in done:
            self._task.result()  # re-raises the app's startup error
            raise RuntimeError("the app's lifespan ended without answering")
        raise TimeoutError(f"the app's lifespan did not answer {expected} within 15 s")

    async def startup(self) -> None:
        scope = {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"}, "state": self.state}
        self._task = asyncio.create_task(self.app(scope, self._receive.get, self._send.put))
        await self._receive.put({"type": "lifespan.startup"})
        await self._wait("lifespan.startup.complete")

    async def shutdown(self) -> None:
        await self._receive.put({"type": "lifespan.shutdown"})
        await self._wait("lifespan.shutdown.complete")
        assert self._task is not None
        await asyncio.wait_for(self._task, timeout=15)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] in ("http", "websocket"):
            scope = {**scope, "state": dict(self.state)}
        await self.app(scope, receive, send)


@contextlib.asynccontextmanager
async def client_for(
    app: ASGIApp, *, peer: tuple[str, int] = ("203.0.113.7", 40000), http_timeout: float = 10.0
) -> AsyncIterator[httpx.AsyncClient]:
    """An httpx client talking to ``app`` in-process, lifespan started before and shut down after.

    Exceptions that escape the app become 500 responses (as under a server) instead of raising into the test.
    """
    lifespan = _Lifespan(app)
    await lifespan.startup()
    transport = httpx.ASGITransport(app=lifespan, raise_app_exceptions=False, client=peer)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver", timeout=http_timeout) as client:
            yield client
    finally:
        await lifespan.shutdown()


@contextlib.asynccontextmanager
async def clients_for(
    app: ASGIApp, peers: list[tuple[str, int]], *, http_timeout: float = 10.0
) -> AsyncIterator[list[httpx.AsyncClient]]:
    """One client per peer address, all talking to the same running app (one lifespan)."""
    lifespan = _Lifespan(app)
    await lifespan.startup()
    try:
        async with contextlib.AsyncExitStack() as stack:
            clients = [
                await stack.enter_async_context(
                    httpx.AsyncClient(
                        transport=httpx.ASGITransport(app=lifespan, raise_app_exceptions=False, client=peer),
                        base_url="http://testserver",
                        timeout=http_timeout,
                    )
                )
                for peer in peers
            ]
            yield clients
    finally:
        await lifespan.shutdown()


async def first_ok(client: httpx.AsyncClient, paths: tuple[str, ...]) -> tuple[str, httpx.Response] | None:
    """The first of ``paths`` that answers 2xx, with its response."""
    for path in paths:
        response = await client.get(path)
        if 200 <= response.status_code < 300:
            return path, response
    return None


async def eventually(predicate: Callable[[], bool], within: float = 3.0) -> bool:
    """Poll ``predicate`` until it holds or ``within`` seconds pass (for effects in other threads or processes)."""
    for _ in range(max(1, int(within / 0.05))):
        if predicate():
            return True
        await asyncio.sleep(0.05)
    return predicate()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """The app under a real uvicorn (or any command) in a subprocess; output goes to a file the test can read."""

    def __init__(
        self, command: list[str] | None = None, *, env: Mapping[str, str] | None = None, port: int | None = None
    ) -> None:
        self.port = port or free_port()
        self.command = command or [
            sys.executable, "-m", "uvicorn", app_ref(), "--host", "127.0.0.1", "--port", str(self.port),
        ]
        self.command = [part.replace("{port}", str(self.port)) for part in self.command]
        self.env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
        self._log = tempfile.NamedTemporaryFile(prefix="pf-eval-server-", suffix=".log", delete=False)  # noqa: SIM115
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, ready_timeout: float = 20.0) -> Server:
        self.process = subprocess.Popen(
            self.command, env=self.env, stdout=self._log, stderr=subprocess.STDOUT, cwd=os.getcwd()
        )
        deadline = time.monotonic() + ready_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited with {self.process.returncode}:\n{self.output()[-3000:]}")
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                return self
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"server did not listen on {self.port} within {ready_timeout} s:\n{self.output()[-3000:]}")

    def output(self) -> str:
        return Path(self._log.name).read_text(encoding="utf-8", errors="replace")

    def json_lines(self) -> list[dict[str, Any]]:
        """Every output line that is a JSON object."""
        records: list[dict[str, Any]] = []
        for raw in self.output().splitlines():
            line = raw.strip()
            if line.startswith("{"):
                with contextlib.suppress(ValueError):
                    value = json.loads(line)
                    if isinstance(value, dict):
                        records.append(value)
        return records

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15.0) -> int | None:
        if self.process is None or self.process.poll() is not None:
            return None if self.process is None else self.process.returncode
        self.process.send_signal(sig)
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            return None

    def __enter__(self) -> Server:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
        with contextlib.suppress(OSError):
            Path(self._log.name).unlink()


class FakeUpstream:
    """A local HTTP service whose behaviour tests switch at run time; it counts TCP connections it accepts.

    Modes: ``ok`` answers ``payload`` as JSON, ``slow`` waits ``delay`` seconds first, ``error`` answers 500 with
    an internal-looking message. ``POST`` bodies are kept in ``posted`` (after any ``slow`` delay, before the answer);
    ``open_connections`` counts connections the client has not closed yet.
    """

    def __init__(self, payload: Mapping[str, Any]) -> None:
        self.payload = dict(payload)
        self.mode = "ok"
        self.delay = 5.0
        self.connections = 0
        self.open_connections = 0
        self.requests: list[str] = []
        self.posted: list[bytes] = []
        self._lock = threading.Lock()
        upstream = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()
                with upstream._lock:
                    upstream.open_connections += 1

            def finish(self) -> None:
                with contextlib.suppress(OSError):
                    super().finish()
                with upstream._lock:
                    upstream.open_connections -= 1

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                upstream.requests.append(self.path)
                if upstream.mode == "slow":
                    time.sleep(upstream.delay)
                # Recorded before answering: once the client has the response, the test may already be looking.
                upstream.posted.append(body)
                with contextlib.suppress(OSError):
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", "2")
                    self.end_headers()
                    self.wfile.write(b"{}")

            def do_GET(self) -> None:
                upstream.requests.append(self.path)
                if upstream.mode == "slow":
                    time.sleep(upstream.delay)
                if upstream.mode == "error":
                    body = b'{"error": "db-primary-7.internal.corp: connection refused"}'
                    status = 500
                else:
                    body = json.dumps({**upstream.payload, "path": self.path}).encode()
                    status = 200
                with contextlib.suppress(OSError):
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                return  # keep test output clean

        class CountingServer(ThreadingHTTPServer):
            daemon_threads = True

            def get_request(self) -> tuple[socket.socket, Any]:
                upstream.connections += 1
                return super().get_request()

        self._server = CountingServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> FakeUpstream:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


@contextlib.contextmanager
def environ(values: Mapping[str, str]) -> Iterator[None]:
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, old in saved.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old
