"""Graceful shutdown under load: SIGTERM while N slow requests are in flight and new connections keep arriving.

What must hold: every request the server accepted completes (dropped = 0), connections arriving after the signal
are refused cleanly, the process exits within the graceful timeout, and lifespan shutdown runs (its log lines appear).

"Refused cleanly" means: ECONNREFUSED once the listener is closed, or a complete answer for a request that beat the
close. A third outcome is legitimate too: a connection the kernel had already queued on the listening socket when
the server closed it is reset before the app ever reads the request ("reset"). The app never started such a request
(checked: every arrival the app started is logged, and their number must equal the arrivals answered), so a client
can retry it safely, as load balancers do.
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections import Counter
from dataclasses import dataclass, field

import httpx

from benchmarks.load.server import ServerProcess

# Lines the templates' lifespan and uvicorn write during a clean shutdown, in this order.
CLEANUP_EVENTS = ("shutdown_started", "Application shutdown complete.")


@dataclass
class ShutdownReport:
    in_flight: int
    completed: int
    dropped: int
    arrivals: Counter[str] = field(default_factory=Counter)
    exit_code: int | None = None
    exit_seconds: float = 0.0
    cleanup_logged: bool = False
    arrivals_started_by_app: int = 0

    def as_dict(self) -> dict[str, object]:
        return {
            "in_flight": self.in_flight,
            "completed": self.completed,
            "dropped": self.dropped,
            "arrivals": dict(self.arrivals),
            "exit_code": self.exit_code,
            "exit_seconds": round(self.exit_seconds, 2),
            "cleanup_logged": self.cleanup_logged,
            "arrivals_started_by_app": self.arrivals_started_by_app,
        }


async def _slow_request(base_url: str, seconds: float) -> bool:
    # A client of its own per request: one connection each, as N separate callers would have.
    async with httpx.AsyncClient(base_url=base_url, timeout=seconds + 30) as client:
        try:
            response = await client.get("/slow", params={"seconds": seconds})
        except httpx.TransportError:
            return False
        return response.status_code == 200 and response.json() == {"slept": seconds}


# Arrivals call /slow with zero seconds: the app logs every one it starts, so started arrivals can be counted.
ARRIVAL_MARKER = '"seconds": 0.0, "event": "slow_request_started"'


async def _arrival(base_url: str) -> str:
    """One new connection after the signal: 'ok', 'refused', or 'reset' (closed before any answer)."""
    async with httpx.AsyncClient(base_url=base_url, timeout=10) as client:
        try:
            response = await client.get("/slow", params={"seconds": 0})
        except httpx.ConnectError:
            return "refused"
        except httpx.TransportError:
            return "reset"
        return "ok" if response.status_code == 200 else f"status_{response.status_code}"


async def wait_for_log(server: ServerProcess, needle: str, count: int) -> None:
    """Poll the server's log until ``needle`` appears ``count`` times (bound it with ``asyncio.timeout``)."""
    # Another process writes the file: there is no event to wait on, so poll.
    while server.log_text().count(needle) < count:  # noqa: ASYNC110
        await asyncio.sleep(0.05)


async def sigterm_under_load(
    server: ServerProcess,
    *,
    in_flight: int,
    slow_seconds: float,
    arrival_interval: float = 0.05,
    exit_timeout: float,
) -> ShutdownReport:
    """Start ``in_flight`` slow requests, SIGTERM the server once all are running, keep connecting until it exits."""
    slow = [asyncio.create_task(_slow_request(server.base_url, slow_seconds)) for _ in range(in_flight)]
    try:
        async with asyncio.timeout(15):
            await wait_for_log(server, "slow_request_started", in_flight)
    except TimeoutError:
        found = server.log_text().count("slow_request_started")
        raise TimeoutError(f"only {found} of {in_flight} slow requests started within 15 s") from None
    server.signal(signal.SIGTERM)
    signalled = time.monotonic()
    arrivals: list[asyncio.Task[str]] = []
    # New callers keep coming at a steady rate until the process is gone (bounded by exit_timeout).
    while server.process.poll() is None and time.monotonic() - signalled < exit_timeout:
        arrivals.append(asyncio.create_task(_arrival(server.base_url)))
        await asyncio.sleep(arrival_interval)
    exit_code = await asyncio.to_thread(server.wait_exit, max(0.1, exit_timeout - (time.monotonic() - signalled)))
    exit_seconds = time.monotonic() - signalled
    results = await asyncio.gather(*slow)
    outcomes = Counter(await asyncio.gather(*arrivals))
    completed = sum(results)
    log = server.log_text()
    positions = [log.find(event) for event in CLEANUP_EVENTS]
    return ShutdownReport(
        in_flight=in_flight,
        completed=completed,
        dropped=in_flight - completed,
        arrivals=outcomes,
        exit_code=exit_code,
        exit_seconds=exit_seconds,
        cleanup_logged=all(p >= 0 for p in positions) and positions == sorted(positions),
        arrivals_started_by_app=log.count(ARRIVAL_MARKER),
    )
