"""Async SQLAlchemy 2 engine, session factory and the ``SessionDep`` request dependency.

Rules: PF102, PF103, PF705, PF001

Adopt: lifespan creates the engine once with ``create_engine(settings)``, disposes it on shutdown and stores the
session factory on ``app.state``; handlers take ``session: SessionDep``. Never create an engine per request. Write
SQL with bound parameters (``select(...)``, ``text("... where id = :id")`` with params), never by formatting
strings. Depends on ``sqlalchemy[asyncio]`` (SQLAlchemy 2.1 no longer installs greenlet by itself) plus the
driver: ``asyncpg`` for PostgreSQL, ``aiosqlite`` for the embedded default.

``DATABASE_UNAVAILABLE`` lists the errors that mean the database is unreachable; ``create_app`` answers them with
503 and ``Retry-After``, except where ``is_database_outage`` says the error is a bug (SQLite's missing table).
``check_tables`` is a readiness check that the tables a service queries exist: a service started before its
migrations were applied reports "not ready" instead of answering every request with an error. A session whose
close fails (the database went away after the response was sent) logs ``session_close_failed`` instead of failing
a request that already succeeded.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Iterable
from typing import Annotated, Any

import structlog
from fastapi import Depends, Request
from sqlalchemy import exc as sa_exc
from sqlalchemy import inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

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

# Errors that mean "the database is unreachable right now", not "this query is wrong": create_app maps them to a 503
# with Retry-After (error_handlers). OperationalError: connection lost or refused, database file locked;
# InterfaceError: asyncpg's "connection is closed"; TimeoutError: no pooled connection free within pool_timeout.
# IntegrityError, ProgrammingError and the like stay 500s (bugs) or are the handler's to turn into 409/422.
# SQLite's driver also reports SQL mistakes (a missing table, a syntax error) as OperationalError; is_database_outage
# tells them apart by SQLite's result code. PostgreSQL's drivers report them as ProgrammingError already.
DATABASE_UNAVAILABLE: tuple[type[Exception], ...] = (
    sa_exc.OperationalError,
    sa_exc.InterfaceError,
    sa_exc.TimeoutError,
    # asyncpg's connect raises these unwrapped: database refused (down, restarting), connection reset, and
    # connect_args["timeout"] expired (unreachable host). Builtin TimeoutError also covers asyncio.timeout() expiring
    # around any dependency call, which is a 503 as well. A bare ConnectionError stays a 500: too vague to promise
    # that a retry helps.
    ConnectionRefusedError,
    ConnectionResetError,
    TimeoutError,
)


# SQLite's generic SQL error (no such table or column, a syntax error): a bug or a missing migration, not an outage.
# Busy, locked, can't-open and I/O errors have codes of their own and stay outages.
_SQLITE_ERROR = 1


def is_database_outage(exc: Exception) -> bool:
    """Whether an error of a ``DATABASE_UNAVAILABLE`` type means "unreachable right now" (503) or is a bug (500)."""
    original = getattr(exc, "orig", None)
    return not (isinstance(original, sqlite3.Error) and original.sqlite_errorcode == _SQLITE_ERROR)


class TablesMissing(RuntimeError):
    """The database answers but lacks tables the service queries: its migrations were not applied."""


def create_engine(settings: Settings) -> AsyncEngine:
    """One engine per process, with pool limits and connect timeouts fitted to the driver."""
    url = make_url(settings.database_url.get_secret_value())
    options: dict[str, Any] = {
        # Recycled connections (after a database failover or an idle timeout on a proxy) are tested before use.
        "pool_pre_ping": True,
    }
    if url.get_backend_name() == "sqlite":
        # aiosqlite's timeout is how long to wait on a locked database file.
        options["connect_args"] = {"timeout": settings.database_connect_timeout}
    else:
        options["pool_size"] = settings.database_pool_size
        options["max_overflow"] = settings.database_max_overflow
        # Fail a request quickly when the pool is exhausted instead of queueing it for the default 30 s.
        options["pool_timeout"] = settings.database_connect_timeout
        if url.get_driver_name() == "asyncpg":
            options["connect_args"] = {"timeout": settings.database_connect_timeout}
    return create_async_engine(url, **options)


def create_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    # expire_on_commit=False: attributes stay readable after commit without another (implicit, async-unsafe) load.
    return async_sessionmaker(engine, expire_on_commit=False)


async def ping(engine: AsyncEngine) -> None:
    """Readiness check: one round trip to the database."""
    async with engine.connect() as connection:
        await connection.execute(text("SELECT 1"))


async def check_tables(engine: AsyncEngine, tables: Iterable[str]) -> None:
    """Readiness check: every table in ``tables`` exists (one catalog query). Its message, in the readiness log
    line, names what is missing and what to run."""
    async with engine.connect() as connection:
        present = await connection.run_sync(lambda sync: set(inspect(sync).get_table_names()))
    missing = sorted(set(tables) - present)
    if missing:
        msg = f"missing tables {', '.join(missing)}: apply the migrations (alembic upgrade head)"
        raise TablesMissing(msg)


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One session per request, rolled back if the handler raises, closed afterwards either way."""
    factory = getattr(request.app.state, "session_factory", None)
    if factory is None:
        msg = "no session factory on app.state: create the app with main.create_app() so lifespan sets it up"
        raise RuntimeError(msg)
    session: AsyncSession = factory()
    try:
        yield session
    except Exception:
        await session.rollback()
        raise
    finally:
        await _close_quietly(session)


async def _close_quietly(session: AsyncSession) -> None:
    # close() rolls back the open transaction, a round trip to the database. FastAPI runs this teardown after the
    # response has been sent: if the database went away meanwhile, raising here cannot change the (successful)
    # response, it only makes the server log an application crash and drop the client's connection. The pool
    # discards the broken connection either way.
    try:
        await session.close()
    except sa_exc.SQLAlchemyError:
        logger.warning("session_close_failed", exc_info=True)


SessionDep = Annotated[AsyncSession, Depends(get_session)]
