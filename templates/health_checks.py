"""Kubernetes-style probes: ``/health/live`` never touches a dependency, ``/health/ready`` checks them all at once.

Rules: PF301, PF302, PF303, PF304, PF005

Adopt: include ``router`` in the app (``create_app`` does) and register one check per dependency in lifespan, next
to the resource, with ``checks.add("name", ping)`` (``lifespan.py`` does it for the database and Redis), where
``ping`` is an async callable that raises when the dependency is unusable. Point the liveness probe at
``/health/live`` (a failing liveness probe restarts the pod, so it must not fail because the database is down) and
the readiness probe at ``/health/ready`` (failing it only takes the pod out of the load balancer). Every check runs
concurrently under ``HEALTH_CHECK_TIMEOUT`` (0.8 s by default), below Kubernetes' default 1 s probe timeout, so a
hung dependency yields a 503 instead of a probe timeout. A check that has timed out is cancelled and left to finish
its cleanup in the background (SQLAlchemy takes seconds to discard a hung pooled connection), so the response never
waits for it. The 503 names the failed checks; the exception text (hostnames, DSNs) goes to the log, not to this
unauthenticated endpoint.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Literal

import structlog
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

Check = Callable[[], Awaitable[object]]
CheckStatus = Literal["ok", "failed", "timeout"]

logger = structlog.stdlib.get_logger(__name__)

if not structlog.is_configured():
    # Copied without logging_config.py: structlog's default console renderer prints tracebacks through rich with
    # every frame's local variables (a DSN's password, a bearer token). Plain tracebacks until the app configures
    # logging, which replaces this.
    structlog.configure(
        processors=[
            *structlog.get_config()["processors"][:-1],
            structlog.dev.ConsoleRenderer(exception_formatter=structlog.dev.plain_traceback),
        ]
    )


class ReadinessChecks:
    """The named dependency checks ``/health/ready`` runs, each bounded by the same timeout."""

    def __init__(self, timeout: float = 0.8) -> None:
        if not 0 < timeout < 1:
            msg = f"timeout must be between 0 and 1 second (Kubernetes' default probe timeout), got {timeout}"
            raise ValueError(msg)
        self.timeout = timeout
        self._checks: dict[str, Check] = {}

    def add(self, name: str, check: Check) -> None:
        if name in self._checks:
            msg = f"a readiness check named {name!r} is already registered"
            raise ValueError(msg)
        self._checks[name] = check

    @property
    def names(self) -> list[str]:
        return list(self._checks)

    async def run(self) -> dict[str, CheckStatus]:
        """Run every check concurrently; one slow or failing dependency neither delays nor hides the others.

        Returns within the timeout even when a check ignores cancellation for a while: see ``_run_one``.
        """
        names = list(self._checks)
        statuses = await asyncio.gather(*(self._run_one(name, self._checks[name]) for name in names))
        return dict(zip(names, statuses, strict=True))

    async def _run_one(self, name: str, check: Check) -> CheckStatus:
        try:
            task = asyncio.ensure_future(check())
        except Exception:
            # A check that fails before returning its awaitable (a sync error in a factory) is a failed check too.
            logger.warning("readiness_check_failed", check=name, exc_info=True)
            return "failed"
        # asyncio.wait, not asyncio.timeout: on timeout it returns without awaiting the cancelled check. A check
        # blocked in cleanup (SQLAlchemy closing a hung pooled connection takes seconds) would otherwise hold the
        # probe response well past its timeout and past Kubernetes' 1 s probe timeout.
        try:
            done, _ = await asyncio.wait({task}, timeout=self.timeout)
        except asyncio.CancelledError:
            # The probe itself was cancelled (client gone, server shutting down): the check must not outlive it.
            _abandon(task)
            raise
        if not done:
            _abandon(task)
            logger.warning("readiness_check_timeout", check=name, timeout_s=self.timeout)
            return "timeout"
        error = task.exception() if not task.cancelled() else asyncio.CancelledError()
        if error is not None:
            # Full detail for operators, in the log; the probe response only says which check failed.
            logger.warning("readiness_check_failed", check=name, exc_info=error)
            return "failed"
        return "ok"


# Checks that timed out and were cancelled but are still unwinding; each removes itself when it ends.
_abandoned: set[asyncio.Future[object]] = set()


def _abandon(task: asyncio.Future[object]) -> None:
    task.cancel()
    # The loop keeps only weak references to tasks: hold this one until it has finished its cleanup.
    _abandoned.add(task)
    task.add_done_callback(_forget_abandoned)


def _forget_abandoned(task: asyncio.Future[object]) -> None:
    _abandoned.discard(task)
    # Retrieve the outcome, so asyncio does not log "exception was never retrieved" for an abandoned check.
    if not task.cancelled():
        task.exception()


class HealthStatus(BaseModel):
    status: Literal["ok", "unavailable"]
    checks: dict[str, CheckStatus] = {}


def readiness_checks(app: FastAPI) -> ReadinessChecks:
    """The app's registry, created on first use so lifespan and tests can both register checks."""
    checks = getattr(app.state, "readiness_checks", None)
    if not isinstance(checks, ReadinessChecks):
        settings = getattr(app.state, "settings", None)
        timeout = getattr(settings, "health_check_timeout", 0.8)
        checks = ReadinessChecks(timeout=timeout)
        app.state.readiness_checks = checks
    return checks


router = APIRouter(prefix="/health", tags=["health"])


@router.get("/live")
async def live() -> HealthStatus:
    """The process is up and serving; deliberately checks nothing else.

    ``async def`` on purpose: it answers from the event loop, so it fails exactly when the loop is stuck, and a
    saturated thread pool (busy with someone's blocking handlers) cannot get the pod restarted.
    """
    return HealthStatus(status="ok")


@router.get("/ready", responses={503: {"model": HealthStatus, "description": "A dependency is unavailable"}})
async def ready(request: Request) -> JSONResponse:
    """200 when every registered dependency answers within the timeout, else 503 naming the ones that did not."""
    app = request.app
    assert isinstance(app, FastAPI)
    statuses = await readiness_checks(app).run()
    healthy = all(status == "ok" for status in statuses.values())
    body = HealthStatus(status="ok" if healthy else "unavailable", checks=statuses)
    # no-store: a cached "ok" from a proxy would hide an outage from the probe.
    return JSONResponse(body.model_dump(), status_code=200 if healthy else 503, headers={"Cache-Control": "no-store"})
