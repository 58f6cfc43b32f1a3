"""The application factory: logging first, then the app with its lifespan, error handlers, middleware and routers.

Rules: PF006, PF101, PF401, PF503, PF301, PF302

Adopt: in your service, ``app = create_app(routers=[orders.router])`` and run it with
``fastapi run``, ``uvicorn app.main:app --host 0.0.0.0``, or gunicorn with ``gunicorn_conf.py``. Tests build their
own: ``create_app(Settings(environment="test", ...), routers=[...])``.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable

from fastapi import APIRouter, FastAPI

from .database import DATABASE_UNAVAILABLE, is_database_outage
from .error_handlers import install_error_handlers
from .health_checks import router as health_router
from .lifespan import lifespan
from .logging_config import configure_logging
from .middleware import install_middleware
from .settings import Settings, get_settings


def create_app(
    settings: Settings | None = None, *, routers: Iterable[APIRouter] = (), tables: Collection[str] = ()
) -> FastAPI:
    """``tables``: the tables the routers query; readiness stays 503 ("schema") until they all exist."""
    settings = settings if settings is not None else get_settings()
    # Before the app exists: uvicorn's loggers are re-routed through structlog before they print anything of ours.
    configure_logging(level=settings.log_level, json_logs=not settings.is_development)

    app = FastAPI(
        title=settings.app_name,
        lifespan=lifespan,
        # Interactive docs are an attack-surface map: on in development, off unless asked for elsewhere.
        docs_url="/docs" if settings.is_development else None,
        redoc_url=None,
        openapi_url="/openapi.json" if settings.is_development else None,
    )
    app.state.settings = settings
    app.state.required_tables = frozenset(tables)
    # A database that is down answers 503 with Retry-After, not a 500 that also costs the client its connection.
    install_error_handlers(app, unavailable=DATABASE_UNAVAILABLE, is_outage=is_database_outage)
    install_middleware(app, settings)
    app.include_router(health_router)
    for router in routers:
        app.include_router(router)
    return app


app = create_app()
