"""Hostile clients over raw sockets: header floods, slowloris headers, trickled bodies.

httpx refuses to send most of this (and would hide what the server did), so these speak HTTP/1.1 by hand.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass


@dataclass(frozen=True)
class RawOutcome:
    """What one raw request got back: the status code (None if the server closed or said nothing) and when."""

    status: int | None
    seconds: float
    closed: bool


def raw_request(port: int, payload: bytes, *, timeout: float = 5.0) -> RawOutcome:
    start = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        try:
            sock.sendall(payload)
            head = sock.recv(1024)
        except (ConnectionResetError, BrokenPipeError):
            return RawOutcome(status=None, seconds=time.monotonic() - start, closed=True)
        except TimeoutError:
            return RawOutcome(status=None, seconds=time.monotonic() - start, closed=False)
    elapsed = time.monotonic() - start
    if not head:
        return RawOutcome(status=None, seconds=elapsed, closed=True)
    parts = head.split(b" ", 2)
    return RawOutcome(
        status=int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None, seconds=elapsed, closed=False
    )


def header_flood(kind: str) -> bytes:
    """Requests far past what any sane client sends: one huge header, thousands of headers, a huge URL."""
    if kind == "huge-header":
        return b"GET /health/live HTTP/1.1\r\nHost: x\r\nX-Flood: " + b"a" * 1_000_000 + b"\r\n\r\n"
    if kind == "many-headers":
        return (
            b"GET /health/live HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-H%d: v\r\n" % i for i in range(20_000)) + b"\r\n"
        )
    if kind == "huge-url":
        return b"GET /health/live?" + b"a" * 1_000_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n"
    raise ValueError(f"unknown flood kind {kind!r}; choose huge-header, many-headers or huge-url")


@dataclass
class SlowClients:
    """Connections kept open by trickling bytes; ``closed_by_server`` counts those the server hung up on."""

    opened: int = 0
    closed_by_server: int = 0


@contextmanager
def slow_clients(port: int, *, connections: int, mode: str, interval: float = 0.5) -> Iterator[SlowClients]:
    """``connections`` sockets that send a request a byte at a time, forever, until the block exits.

    ``mode="headers"``: slowloris, the header block never ends. ``mode="body"``: complete headers announcing a
    1 MB JSON body that then arrives one byte per ``interval``.
    """
    if mode not in {"headers", "body"}:
        raise ValueError(f"unknown slow-client mode {mode!r}; choose headers or body")
    stats = SlowClients()
    stop = threading.Event()
    sockets: list[socket.socket] = []
    for _ in range(connections):
        sock = socket.create_connection(("127.0.0.1", port), timeout=2)
        if mode == "headers":
            sock.sendall(b"GET /health/live HTTP/1.1\r\nHost: x\r\n")
        else:
            sock.sendall(b"POST /orders HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                         b"Content-Length: 1000000\r\n\r\n{")  # fmt: skip
        sockets.append(sock)
        stats.opened += 1

    def trickle() -> None:
        alive = list(sockets)
        while alive and not stop.wait(interval):
            for sock in list(alive):
                try:
                    sock.sendall(b"X-a: b\r\n" if mode == "headers" else b" ")
                except OSError:
                    stats.closed_by_server += 1
                    alive.remove(sock)

    worker = threading.Thread(target=trickle, name="slow-clients", daemon=True)
    worker.start()
    try:
        yield stats
    finally:
        stop.set()
        worker.join(timeout=5)
        for sock in sockets:
            sock.close()
