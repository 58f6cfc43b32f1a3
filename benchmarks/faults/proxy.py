"""A loopback TCP proxy in front of a dependency (Postgres, Redis) that a test can switch to fail on demand.

Modes:
- ``pass``: forwards bytes both ways;
- ``refuse``: the listening socket is closed and live connections are reset, so connects fail with ECONNREFUSED,
  the way a stopped database looks;
- ``blackhole``: connections are accepted and bytes are swallowed, nothing ever comes back, the way a partitioned
  network or a hung server looks (a firewall-free stand-in for dropping packets).

Leaving ``blackhole`` resets the connections that lived through it: their requests were swallowed, so reusing them
would hang forever, and a real partition long enough to matter ends the same way once the peer's timeouts fire.
The proxy runs its own event loop in a daemon thread, so it works beside synchronous and asynchronous tests alike.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any, Literal

Mode = Literal["pass", "refuse", "blackhole"]
MODES: tuple[Mode, ...] = ("pass", "refuse", "blackhole")
_CHUNK = 65536


class FaultProxy:
    """``FaultProxy("127.0.0.1", 5432)`` listens on a free loopback port (``.port``) and forwards to the target."""

    def __init__(self, target_host: str, target_port: int, *, listen_port: int = 0) -> None:
        self.target = (target_host, target_port)
        self.port = listen_port
        self.mode: Mode = "pass"
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="fault-proxy", daemon=True)
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self.accepted = 0

    def __enter__(self) -> FaultProxy:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def start(self) -> None:
        self._thread.start()
        self._call(self._listen())

    def set_mode(self, mode: Mode) -> None:
        if mode not in MODES:
            raise ValueError(f"unknown proxy mode {mode!r}; choose one of {', '.join(MODES)}")
        self._call(self._switch(mode))

    def close(self) -> None:
        if not self._thread.is_alive():
            return
        self._call(self._shutdown())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        self._loop.close()

    def _call(self, coroutine: Coroutine[Any, Any, None]) -> None:
        asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout=10)

    async def _listen(self) -> None:
        # reuse_address lets "refuse" -> "pass" bind the same port again at once.
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port, reuse_address=True)
        self.port = int(self._server.sockets[0].getsockname()[1])

    async def _switch(self, mode: Mode) -> None:
        previous, self.mode = self.mode, mode
        if previous == "blackhole" or mode == "refuse":
            self._reset_all()
        if mode == "refuse" and self._server is not None:
            self._server.close()
            self._server = None
        elif mode != "refuse" and self._server is None:
            await self._listen()

    async def _shutdown(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        self._reset_all()

    def _reset_all(self) -> None:
        for writer in list(self._writers):
            writer.transport.abort()  # RST, not FIN: the peer learns at once that the connection is gone
        self._writers.clear()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        self._writers.add(writer)
        try:
            if self.mode == "blackhole":
                await _swallow(reader)
                return
            try:
                upstream_reader, upstream_writer = await asyncio.open_connection(*self.target)
            except OSError:
                writer.transport.abort()
                return
            self._writers.add(upstream_writer)
            await asyncio.gather(
                self._pump(reader, upstream_writer), self._pump(upstream_reader, writer), return_exceptions=True
            )
        finally:
            self._writers.discard(writer)
            writer.close()

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(_CHUNK):
                if self.mode == "blackhole":
                    continue  # swallowed: the other side waits for an answer that never comes
                writer.write(data)
                await writer.drain()
        finally:
            self._writers.discard(writer)
            writer.close()


async def _swallow(reader: asyncio.StreamReader) -> None:
    while await reader.read(_CHUNK):
        pass
