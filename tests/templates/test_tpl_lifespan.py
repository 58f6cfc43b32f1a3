"""lifespan.py + database.py: resources opened once, closed newest first, and closed even when startup fails."""

from __future__ import annotations

import gc
import io
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import APIRouter
from sqlalchemy import event, text
from sqlalchemy.engine import Engine
from tpl_support import isolated_logging, json_lines, make_settings, running_app, tpl  # noqa: F401 - isolated_logging is an autouse fixture

database = tpl("database")


@pytest.fixture
def disposals() -> Iterator[list[Engine]]:
    """Every engine disposed while the test runs (a class-level SQLAlchemy event, no patching)."""
    disposed: list[Engine] = []

    def record(engine: Engine) -> None:
        disposed.append(engine)

    event.listen(Engine, "engine_disposed", record)
    try:
        yield disposed
    finally:
        event.remove(Engine, "engine_disposed", record)


router = APIRouter()


@router.get("/answer")
async def answer(session: database.SessionDep) -> dict[str, int]:  # type: ignore[name-defined]
    value = (await session.execute(text("SELECT 41 + 1"))).scalar_one()
    return {"answer": int(value)}


@pytest.mark.anyio
async def test_resources_exist_during_and_close_in_reverse_order(disposals: list[Engine]) -> None:
    http_closed_when_engine_disposed: list[bool] = []
    app: Any
    async with running_app(routers=[router]) as (app, client):
        http_client = app.state.http_client
        assert isinstance(http_client, httpx.AsyncClient)
        assert not http_client.is_closed
        assert (await client.get("/answer")).json() == {"answer": 42}

        def check_order(engine: Engine) -> None:
            http_closed_when_engine_disposed.append(http_client.is_closed)

        event.listen(Engine, "engine_disposed", check_order)
    event.remove(Engine, "engine_disposed", check_order)
    assert http_client.is_closed
    assert len(disposals) == 1
    # The HTTP client (opened last) was already closed when the engine (opened first) was disposed.
    assert http_closed_when_engine_disposed == [True]


@pytest.mark.anyio
async def test_a_failure_half_way_through_startup_still_closes_what_was_opened(disposals: list[Engine]) -> None:
    # The scheme passes validation; the port only fails when lifespan builds the Redis client, after the engine.
    settings = make_settings(redis_url="redis://127.0.0.1:not-a-port/0")
    app = tpl("main").create_app(settings)
    with pytest.raises(ValueError, match=r"[Pp]ort"):
        async with app.router.lifespan_context(app):
            pytest.fail("startup should have failed")
    assert len(disposals) == 1


def test_http_client_has_explicit_timeouts_and_pool_limits() -> None:
    client = tpl("lifespan").create_http_client(make_settings(http_timeout=4.0, http_max_connections=10))
    timeout = client.timeout
    assert (timeout.connect, timeout.read, timeout.write, timeout.pool) == (3.0, 4.0, 4.0, 4.0)
    pool = client._transport._pool  # httpcore's pool: the only place the limits are visible
    assert pool._max_connections == 10
    assert pool._max_keepalive_connections == 10


def test_redis_client_has_explicit_timeouts() -> None:
    redis = tpl("lifespan").create_redis(make_settings(redis_url="redis://127.0.0.1:6379/0", redis_timeout=1.5))
    kwargs = redis.connection_pool.connection_kwargs
    assert kwargs["socket_timeout"] == 1.5
    assert kwargs["socket_connect_timeout"] == 1.5


@pytest.mark.anyio
@pytest.mark.postgres
async def test_sessions_against_real_postgres(database_url: str) -> None:
    async with running_app(make_settings(database_url=database_url), [router]) as (app, client):
        assert (await client.get("/answer")).json() == {"answer": 42}
        assert app.state.session_factory.kw["bind"].pool.size() == app.state.settings.database_pool_size


@pytest.mark.anyio
async def test_session_dependency_without_lifespan_explains_itself() -> None:
    app = tpl("main").create_app(make_settings(), routers=[router])
    transport = httpx.ASGITransport(app, raise_app_exceptions=True)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        with pytest.raises(RuntimeError, match="no session factory"):
            await client.get("/answer")


@pytest.mark.anyio
async def test_the_same_app_can_start_twice_with_fresh_checks() -> None:
    app = tpl("main").create_app(make_settings())
    for _ in range(2):
        async with app.router.lifespan_context(app):
            assert app.state.readiness_checks.names == ["database"]
            assert await app.state.readiness_checks.run() == {"database": "ok"}


teardown_router = APIRouter()


@teardown_router.get("/read-then-lose-connection")
async def read_then_lose_connection(session: database.SessionDep) -> dict[str, int]:  # type: ignore[name-defined]
    # The handler has all it needs; then the database ends this session's connection (a failover, a restart)
    # while its transaction is still open, so the rollback in the session's close() fails after the response.
    pid = int((await session.execute(text("SELECT pg_backend_pid()"))).scalar_one())
    engine = session.bind
    async with engine.connect() as admin:
        await admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    return {"pid": pid}


@pytest.mark.anyio
@pytest.mark.postgres
async def test_losing_the_database_during_session_teardown_does_not_fail_the_request(database_url: str) -> None:
    logs = io.StringIO()
    async with running_app(make_settings(database_url=database_url), [teardown_router], logs=logs) as (app, _):
        # Our own client, raising what escapes the app (running_app's swallows it, as a server would log it).
        transport = httpx.ASGITransport(app, raise_app_exceptions=True)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            response = await client.get("/read-then-lose-connection")
            assert response.status_code == 200
            # The pool dropped the dead connection: the next request gets a working one.
            assert (await client.get("/read-then-lose-connection")).status_code == 200
    records = json_lines(logs)
    failures = [r for r in records if r["event"] == "session_close_failed"]
    assert len(failures) == 2
    assert failures[0]["level"] == "warning"
    assert failures[0]["request_id"] == response.headers["x-request-id"]
    access = [r for r in records if r["event"] == "request"]
    assert [r["status"] for r in access] == [200, 200]
    assert all(r["level"] == "info" for r in access)


items_router = APIRouter()


@items_router.get("/items")
async def list_items(session: database.SessionDep) -> list[int]:  # type: ignore[name-defined]
    return list((await session.execute(text("SELECT id FROM items"))).scalars())


@pytest.mark.anyio
async def test_before_the_migrations_readiness_names_the_schema_and_a_missing_table_is_a_bug(tmp_path: Any) -> None:
    """Started before its migrations: not ready (check "schema", the log says what to run), and a query of the
    missing table is a 500 to fix, not a 503 telling clients to retry an outage."""
    settings = make_settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'fresh.db'}")
    app = tpl("main").create_app(settings, routers=[items_router], tables={"items"})
    transport = httpx.ASGITransport(app, raise_app_exceptions=False)
    async with app.router.lifespan_context(app), httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        ready = await http.get("/health/ready")
        assert ready.status_code == 503
        assert ready.json()["checks"] == {"database": "ok", "schema": "failed"}
        listed = await http.get("/items")
        assert listed.status_code == 500, listed.text
        assert "retry-after" not in listed.headers
        # What the readiness log line says (checked on the check itself: loggers cache their first stream).
        engine = app.state.session_factory.kw["bind"]
        with pytest.raises(database.TablesMissing, match=r"missing tables items: apply the migrations \(alembic"):  # type: ignore[name-defined]
            await database.check_tables(engine, {"items"})  # type: ignore[name-defined]

        async with app.state.session_factory() as session:
            await session.execute(text("CREATE TABLE items (id INTEGER PRIMARY KEY)"))
            await session.commit()
        ready = await http.get("/health/ready")
        assert (ready.status_code, ready.json()["checks"]["schema"]) == (200, "ok")
        assert (await http.get("/items")).json() == []


def test_a_locked_or_unopenable_sqlite_database_is_still_an_outage(tmp_path: Any) -> None:
    """Only SQLite's generic SQL error is a bug: busy, locked and can't-open keep answering 503."""
    import sqlite3

    from sqlalchemy import exc as sa_exc

    is_outage = database.is_database_outage  # type: ignore[name-defined]
    missing = sqlite3.connect(":memory:")
    with pytest.raises(sqlite3.OperationalError) as no_table:
        missing.execute("SELECT * FROM items")
    assert not is_outage(sa_exc.OperationalError("SELECT", {}, no_table.value))
    with pytest.raises(sqlite3.OperationalError) as cannot_open:
        sqlite3.connect(f"file:{tmp_path / 'absent' / 'x.db'}?mode=ro", uri=True)
    assert is_outage(sa_exc.OperationalError("connect", {}, cannot_open.value))
    assert is_outage(sa_exc.OperationalError("connect", {}, ConnectionRefusedError()))
    assert is_outage(TimeoutError())


@pytest.mark.anyio
async def test_the_startup_heap_is_frozen_while_serving_and_released_at_shutdown() -> None:
    before = (gc.get_freeze_count(), gc.get_threshold())
    async with running_app(routers=[router]) as (_, client):
        serving = (gc.get_freeze_count(), gc.get_threshold())
        assert (await client.get("/health/live")).status_code == 200
    assert serving[1] == tpl("lifespan").GC_THRESHOLDS
    assert serving[0] > before[0]
    assert (gc.get_freeze_count(), gc.get_threshold()) == before
