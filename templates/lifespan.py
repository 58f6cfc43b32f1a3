"""Lifespan: open the service's shared resources once at startup and close them in reverse order at shutdown.

Rules: PF101, PF102, PF103, PF706, PF304, PF701, PF707, PF708

Adopt: ``create_app`` passes ``lifespan`` to ``FastAPI(lifespan=...)``. Add a resource by creating it inside the
``AsyncExitStack`` and registering its close right away: if a later step fails, everything opened so far is still
closed, newest first. Resources land on ``app.state`` (``app.state.http_client``, ``app.state.session_factory``...)
and their readiness checks in ``app.state.readiness_checks`` (a fresh ``ReadinessChecks`` each startup).

Shutdown runs after the server has stopped accepting connections and drained in-flight requests (uvicorn's
``timeout_graceful_shutdown``, gunicorn's ``graceful_timeout``), so ``engine.dispose()`` here closes idle pooled
connections only after the requests using them are done: ``dispose()`` does not wait for checked-out connections.

The last step of startup takes the heap built so far (imports, settings, pools, clients: a large, permanent one in
a FastAPI service) out of the garbage collector's scans with ``gc.freeze()`` and makes the youngest generation's
collections rarer. Without it, collections triggered by request garbage keep walking that heap: measured on a route
doing about 1 ms of work, the service cost 1.1-1.2x bare FastAPI's CPU per request; with it, about 0.9x
(benchmarks/results/load-middleware.md). Under gunicorn the worker runs this lifespan after the fork, so the freeze
happens there; nothing is needed in the master.
"""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack, asynccontextmanager, contextmanager
from functools import partial

import httpx
import structlog
from fastapi import FastAPI
from redis.asyncio import Redis

from .database import check_tables, create_engine, create_session_factory, ping
from .health_checks import ReadinessChecks
from .rate_limiting import create_rate_limiter
from .settings import Settings, get_settings

logger = structlog.stdlib.get_logger(__name__)


def create_http_client(settings: Settings) -> httpx.AsyncClient:
    """One pooled client for outbound calls, with every timeout explicit and a bounded pool."""
    return httpx.AsyncClient(
        # httpx's timeouts bound each phase (connect, each read...), not the whole response: wrap calls to a
        # dependency that may trickle bytes in asyncio.timeout() as well.
        timeout=httpx.Timeout(settings.http_timeout, connect=min(settings.http_timeout, 3.0)),
        limits=httpx.Limits(
            max_connections=settings.http_max_connections,
            max_keepalive_connections=min(20, settings.http_max_connections),
            keepalive_expiry=30.0,
        ),
        follow_redirects=False,
    )


def create_redis(settings: Settings) -> Redis | None:
    if settings.redis_url is None:
        return None
    # Explicit timeouts: a Redis that stops answering must fail a request quickly, not hang it.
    return Redis.from_url(
        settings.redis_url.get_secret_value(),
        socket_timeout=settings.redis_timeout,
        socket_connect_timeout=settings.redis_timeout,
        health_check_interval=30,
    )


async def _ping_redis(redis: Redis) -> None:
    await redis.ping()


# CPython's default is (700, 10, 10): a generation-0 collection every 700 net container allocations, a few requests'
# worth. Garbage without reference cycles is freed at once either way; only cyclic garbage waits for a collection.
GC_THRESHOLDS = (50_000, 20, 100)


@contextmanager
def frozen_startup_heap() -> Iterator[None]:
    """Freeze everything allocated so far and raise the collection thresholds; undone when the context exits.

    Undoing matters where one process starts the app many times (tests): frozen objects are never collected.
    """
    previous = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
    try:
        yield
    finally:
        gc.set_threshold(*previous)
        gc.unfreeze()


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings = getattr(app.state, "settings", None)
    if not isinstance(settings, Settings):
        settings = get_settings()
    # A fresh registry per startup: a second lifespan run on the same app (tests do this) must not find the
    # previous run's checks, bound to resources that are closed now.
    checks = ReadinessChecks(timeout=settings.health_check_timeout)
    app.state.readiness_checks = checks

    async with AsyncExitStack() as stack:
        engine = create_engine(settings)
        # Registered before first use: if anything below fails, the engine is disposed all the same.
        stack.push_async_callback(engine.dispose)
        app.state.session_factory = create_session_factory(engine)
        checks.add("database", partial(ping, engine))
        tables: frozenset[str] = getattr(app.state, "required_tables", frozenset())
        if tables:
            # Not ready until the migrations have created what the routes query (create_app(tables=...)).
            checks.add("schema", partial(check_tables, engine, tables))

        redis = create_redis(settings)
        if redis is not None:
            stack.push_async_callback(redis.aclose)
            checks.add("redis", partial(_ping_redis, redis))
        app.state.redis = redis

        app.state.rate_limiter = create_rate_limiter(settings, redis)
        app.state.http_client = await stack.enter_async_context(create_http_client(settings))

        # Last: the heap startup built is permanent from here on.
        stack.enter_context(frozen_startup_heap())
        logger.info("startup_complete", environment=settings.environment, checks=checks.names)
        try:
            yield
        finally:
            logger.info("shutdown_started")
            # The exit stack now unfreezes the heap, then closes the HTTP client, Redis and the engine.
