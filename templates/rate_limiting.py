"""Per-client rate limits on the ``limits`` package: in memory by default, shared in Redis, 429 with Retry-After.

Rules: PF902, PF903, PF003, PF901, PF904, PF905

Adopt: lifespan builds the limiter with ``create_rate_limiter(settings, redis)`` and stores it on ``app.state``.
Protect a route with a dependency: ``@router.post("/login", dependencies=[Depends(rate_limit("5/minute"))])``.
Over the limit the client gets a 429 problem+json with ``Retry-After`` (whole seconds until a request is allowed
again) and ``RateLimit-Limit`` / ``RateLimit-Remaining``.

The key is the client address as the ASGI server reports it. Behind a reverse proxy set ``TRUSTED_PROXIES`` (and
gunicorn's/uvicorn's ``forwarded_allow_ips``) to the proxy's addresses, so ``X-Forwarded-For`` is believed from the
proxy only: from anyone else it is ignored, and a client cannot pick its own key. (slowapi's ``get_ipaddr`` reads a
header named ``X_FORWARDED_FOR``, which a client can send at will: don't key on it.)

In memory, limits are per process: with N workers a client gets N times the limit. Set ``REDIS_URL`` to share them.
When Redis is unreachable the limiter fails open by default (requests pass; a warning is logged): an outage of the
limiter should not become an outage of the API. Set ``RATE_LIMIT_FAIL_OPEN=false`` to answer 503 instead. Either way
it leaves Redis alone for 5 s after a failure, so a hung Redis costs one request ``REDIS_TIMEOUT``, not every one.
"""

from __future__ import annotations

import math
import time
from collections.abc import Awaitable, Callable

import structlog
from fastapi import Request
from limits import RateLimitItem, parse
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import (
    FixedWindowRateLimiter,
    MovingWindowRateLimiter,
    RateLimiter,
    SlidingWindowCounterRateLimiter,
)
from limits.errors import StorageError
from redis.asyncio import Redis

from .error_handlers import AppError
from .settings import Settings

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

_STRATEGIES: dict[str, type[RateLimiter]] = {
    "fixed-window": FixedWindowRateLimiter,
    "moving-window": MovingWindowRateLimiter,
    "sliding-window-counter": SlidingWindowCounterRateLimiter,
}


class RateLimitExceededError(AppError):
    status_code = 429
    title = "Too Many Requests"


class RateLimitUnavailableError(AppError):
    status_code = 503
    title = "Service Unavailable"


class Limiter:
    """A ``limits`` strategy over one storage, plus the fail-open/closed policy for storage outages.

    After a storage error the limiter stops asking the storage for ``outage_backoff`` seconds and applies the policy
    straight away: a hung Redis would otherwise add its full timeout to every request, and log every one of them.
    """

    def __init__(
        self,
        storage: Storage,
        *,
        strategy: str = "moving-window",
        fail_open: bool = True,
        outage_backoff: float = 5.0,
    ) -> None:
        if strategy not in _STRATEGIES:
            msg = f"unknown rate-limit strategy {strategy!r}; choose one of {', '.join(_STRATEGIES)}"
            raise ValueError(msg)
        if outage_backoff < 0:
            msg = f"outage_backoff must be zero or more seconds, got {outage_backoff}"
            raise ValueError(msg)
        self.storage = storage
        self.strategy = _STRATEGIES[strategy](storage)
        self.fail_open = fail_open
        self.outage_backoff = outage_backoff
        self._skip_storage_until = 0.0

    async def check(self, item: RateLimitItem, *identifiers: str) -> None:
        """Count one hit; raise ``RateLimitExceededError`` (429) when over the limit."""
        if time.monotonic() < self._skip_storage_until:
            self._storage_unavailable()
            return
        try:
            allowed = await self.strategy.hit(item, *identifiers)
            if allowed:
                return
            stats = await self.strategy.get_window_stats(item, *identifiers)
        except StorageError:
            self._skip_storage_until = time.monotonic() + self.outage_backoff
            logger.warning(
                "rate_limit_storage_unavailable",
                fail_open=self.fail_open,
                retry_storage_in_s=self.outage_backoff,
                exc_info=True,
            )
            self._storage_unavailable()
            return
        # At least 1: "Retry-After: 0" invites an immediate retry that would be refused again.
        retry_after = max(1, math.ceil(stats.reset_time - time.time()))
        raise RateLimitExceededError(
            f"Rate limit of {item} exceeded; retry in {retry_after} seconds.",
            headers={
                "Retry-After": str(retry_after),
                "RateLimit-Limit": str(item.amount),
                "RateLimit-Remaining": str(max(0, stats.remaining)),
            },
        )

    def _storage_unavailable(self) -> None:
        """Fail open (return: the request goes through) or closed (503) while the storage is down."""
        if self.fail_open:
            return
        retry_after = max(1, math.ceil(self._skip_storage_until - time.monotonic()))
        raise RateLimitUnavailableError(
            "Rate limiting is temporarily unavailable; retry shortly.", headers={"Retry-After": str(retry_after)}
        )


def _limits_uri(redis_url: str) -> str:
    # limits picks its backend from the scheme: async+redis://, async+rediss://, async+redis+unix://.
    if redis_url.startswith("unix://"):
        return "async+redis+" + redis_url
    return "async+" + redis_url


def create_rate_limiter(settings: Settings, redis: Redis | None = None) -> Limiter:
    """Redis storage sharing ``redis``'s connection pool when given, else in-process memory."""
    storage: Storage
    if redis is not None and settings.redis_url is not None:
        storage = RedisStorage(
            _limits_uri(settings.redis_url.get_secret_value()),
            # redis-py's asyncio client (redis>=8), not coredis: one Redis library for the whole service.
            implementation="redispy",
            # Reuse lifespan's pool (and its timeouts); lifespan closes it. limits types its options as scalars
            # but hands them to redis.asyncio.Redis unchanged.
            connection_pool=redis.connection_pool,  # type: ignore[arg-type]
            wrap_exceptions=True,
            key_prefix=f"{settings.app_name}:rate-limit",
        )
    else:
        storage = MemoryStorage(wrap_exceptions=True)
    return Limiter(storage, strategy=settings.rate_limit_strategy, fail_open=settings.rate_limit_fail_open)


def client_key(request: Request) -> str:
    """The peer address after the server's (and middleware's) trusted proxy handling; never a raw header."""
    return request.client.host if request.client else "unknown"


def rate_limit(
    limit: str, *, scope: str | None = None, key: Callable[[Request], str] = client_key
) -> Callable[[Request], Awaitable[None]]:
    """A dependency enforcing ``limit`` (e.g. ``"5/minute"``) per client, counted separately per route or ``scope``.

    The limit string is parsed now, so a typo fails at import time, not on the first request.
    """
    try:
        item = parse(limit)
    except ValueError as exc:
        msg = f"invalid rate limit {limit!r}: use forms like '5/minute' or '100 per hour'"
        raise ValueError(msg) from exc

    async def dependency(request: Request) -> None:
        limiter = getattr(request.app.state, "rate_limiter", None)
        if not isinstance(limiter, Limiter):
            msg = "no rate limiter on app.state: create the app with main.create_app() so lifespan sets it up"
            raise RuntimeError(msg)
        # Each route (method and path template, so /orders/1 and /orders/2 share one) counts separately, unless
        # routes share a scope name (e.g. every login endpoint).
        route_path = getattr(request.scope.get("route"), "path", None)
        namespace = scope or f"{request.method} {route_path if isinstance(route_path, str) else request.url.path}"
        await limiter.check(item, namespace, key(request))

    return dependency
