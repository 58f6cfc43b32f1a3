"""Typed service configuration read once from the environment, failing fast at startup on anything invalid.

Rules: PF002, PF003, PF008, PF009, PF602, PF605

Adopt: copy next to the other templates and add your own fields. Read settings through ``get_settings()`` (cached)
or pass a ``Settings(...)`` to ``create_app`` in tests. Names map to environment variables without a prefix
(``DATABASE_URL``, ``REDIS_URL``, ``CORS_ORIGINS``...); a ``.env`` file is read when present, real environment
variables win. The defaults run with no services at all (SQLite via aiosqlite, in-memory rate limits), so a fresh
checkout starts; point ``DATABASE_URL`` / ``REDIS_URL`` at PostgreSQL and Redis in production.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Annotated, Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

Environment = Literal["development", "test", "staging", "production"]
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]


def _split_csv(value: object) -> object:
    """Accept ``a,b`` and ``["a", "b"]`` from the environment, and a real list from code."""
    if isinstance(value, str):
        if value.lstrip().startswith("["):
            return json.loads(value)
        return [item.strip() for item in value.split(",") if item.strip()]
    return value


class Settings(BaseSettings):
    """Everything the service reads from its environment; invalid values stop the process before it serves."""

    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        # .env files are often shared with docker compose and other tools: keys we don't know are theirs.
        extra="ignore",
        frozen=True,
    )

    app_name: str = "service"
    # ENVIRONMENT when set; else FASTAPI_ENV, which `fastapi dev` sets to "development": so `fastapi dev` serves /docs
    # and console logs, and `fastapi run`, uvicorn and gunicorn run as production, as each announces itself.
    environment: Environment = Field(default="production", validation_alias=AliasChoices("environment", "fastapi_env"))
    log_level: LogLevel = "INFO"

    # SQLite keeps a fresh checkout runnable; production sets postgresql+asyncpg://...
    # SecretStr: the URL carries the password, and a repr() in a log line or traceback must not show it.
    database_url: SecretStr = SecretStr("sqlite+aiosqlite:///./service.db")
    database_pool_size: int = Field(default=5, ge=1, le=100)
    database_max_overflow: int = Field(default=5, ge=0, le=100)
    database_connect_timeout: float = Field(default=5.0, gt=0, le=60)

    # None means in-memory rate limits (per process) and no Redis readiness check.
    redis_url: SecretStr | None = None
    # Seconds to connect and per command: Redis on the same network answers in milliseconds.
    redis_timeout: float = Field(default=1.0, gt=0, le=30)

    # Comma-separated in the environment: CORS_ORIGINS=https://app.example.com,https://admin.example.com
    # NoDecode stops pydantic-settings from parsing the value as JSON, which would crash on "a,b".
    cors_origins: Annotated[list[str], NoDecode] = []
    # Addresses (or CIDR networks) of the reverse proxies allowed to set X-Forwarded-For / X-Forwarded-Proto.
    # Empty means nobody is trusted: the peer address is the client.
    trusted_proxies: Annotated[list[str], NoDecode] = []

    # App-wide default limit on request bodies; FastAPI's max_body_size on a route or router raises or lowers it.
    max_body_size: int = Field(default=1_048_576, ge=0)
    # Readiness checks must answer before Kubernetes' default 1 s probe timeout.
    health_check_timeout: float = Field(default=0.8, gt=0, lt=1.0)

    rate_limit_strategy: Literal["fixed-window", "moving-window", "sliding-window-counter"] = "moving-window"
    # When the rate-limit store (Redis) is unreachable: True lets requests through (and logs it), False answers 503.
    rate_limit_fail_open: bool = True

    http_timeout: float = Field(default=5.0, gt=0, le=120)
    http_max_connections: int = Field(default=100, ge=1)

    @field_validator("cors_origins", "trusted_proxies", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        return _split_csv(value)

    @field_validator("database_url")
    @classmethod
    def _async_driver(cls, value: SecretStr) -> SecretStr:
        # A sync driver URL would fail later, on the first request, with a less obvious error.
        scheme = value.get_secret_value().partition("://")[0]
        if scheme in {"postgres", "postgresql", "postgresql+psycopg2", "sqlite"}:
            msg = "DATABASE_URL must name an async driver: postgresql+asyncpg://... or sqlite+aiosqlite:///..."
            raise ValueError(msg)
        return value

    @field_validator("redis_url")
    @classmethod
    def _redis_scheme(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith(("redis://", "rediss://", "unix://")):
            msg = "REDIS_URL must start with redis://, rediss:// or unix://"
            raise ValueError(msg)
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _no_wildcard_proxy(cls, value: list[str]) -> list[str]:
        if "*" in value:
            msg = "TRUSTED_PROXIES='*' lets any client forge its address and scheme; list the proxies' addresses"
            raise ValueError(msg)
        return value

    @model_validator(mode="after")
    def _no_wildcard_cors_in_production(self) -> Settings:
        # The CORS middleware is installed with credentials allowed, and Starlette answers "*" plus credentials by
        # reflecting whatever Origin the browser sent: any site could then call the API with the user's cookies.
        if "*" in self.cors_origins:
            msg = "CORS_ORIGINS='*' with credentials reflects every Origin; list the allowed origins explicitly"
            raise ValueError(msg)
        return self

    @property
    def is_development(self) -> bool:
        return self.environment == "development"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, loaded on first use; tests pass their own ``Settings`` instead."""
    return Settings()
