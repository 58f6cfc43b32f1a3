"""settings.py: runs on embedded defaults, reads lists as a,b, hides secrets, and fails fast with a clear message."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError
from tpl_support import isolated_logging, tpl  # noqa: F401 - isolated_logging is an autouse fixture

settings_module = tpl("settings")
Settings = settings_module.Settings

OUR_VARIABLES = (
    "APP_NAME",
    "ENVIRONMENT",
    "LOG_LEVEL",
    "DATABASE_URL",
    "REDIS_URL",
    "CORS_ORIGINS",
    "TRUSTED_PROXIES",
    "MAX_BODY_SIZE",
    "RATE_LIMIT_FAIL_OPEN",
    "FASTAPI_ENV",
)


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    """No variables of ours in the environment and no .env in the working directory."""
    for name in OUR_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    return monkeypatch


def test_embedded_defaults_need_no_services(clean_env: pytest.MonkeyPatch) -> None:
    settings = Settings()
    assert settings.database_url.get_secret_value().startswith("sqlite+aiosqlite://")
    assert settings.redis_url is None
    assert settings.environment == "production"
    assert settings.cors_origins == []
    assert settings.trusted_proxies == []
    assert settings.health_check_timeout < 1.0


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("https://a.example,https://b.example", ["https://a.example", "https://b.example"]),
        (" https://a.example , https://b.example ,", ["https://a.example", "https://b.example"]),
        ('["https://a.example", "https://b.example"]', ["https://a.example", "https://b.example"]),
        ("", []),
    ],
    ids=["comma", "spaces-and-trailing-comma", "json", "empty"],
)
def test_list_settings_from_the_environment(clean_env: pytest.MonkeyPatch, raw: str, expected: list[str]) -> None:
    clean_env.setenv("CORS_ORIGINS", raw)
    clean_env.setenv("TRUSTED_PROXIES", "10.0.0.5,10.1.0.0/16")
    settings = Settings()
    assert settings.cors_origins == expected
    assert settings.trusted_proxies == ["10.0.0.5", "10.1.0.0/16"]


def test_secrets_do_not_show_in_repr_or_str(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("DATABASE_URL", "postgresql+asyncpg://app:hunter2@db:5432/app")
    clean_env.setenv("REDIS_URL", "redis://:sesame@cache:6379/0")
    settings = Settings()
    for rendering in (repr(settings), str(settings), repr(settings.model_dump())):
        assert "hunter2" not in rendering
        assert "sesame" not in rendering
    assert settings.database_url.get_secret_value().endswith("@db:5432/app")


def test_dotenv_is_read_and_real_environment_wins(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("APP_NAME=from-dotenv\nLOG_LEVEL=DEBUG\nSOMEONE_ELSES=1\n", encoding="utf-8")
    clean_env.setenv("LOG_LEVEL", "WARNING")
    settings = Settings()
    assert settings.app_name == "from-dotenv"
    assert settings.log_level == "WARNING"


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("TRUSTED_PROXIES", "*", "TRUSTED_PROXIES='\\*' lets any client forge"),
        ("CORS_ORIGINS", "https://a.example,*", "CORS_ORIGINS='\\*' with credentials reflects every Origin"),
        ("DATABASE_URL", "postgresql://app@db/app", "DATABASE_URL must name an async driver"),
        ("REDIS_URL", "http://cache:6379", "REDIS_URL must start with redis://"),
        ("LOG_LEVEL", "LOUD", "log_level"),
        ("ENVIRONMENT", "prod", "environment"),
        ("MAX_BODY_SIZE", "-1", "max_body_size"),
    ],
)
def test_invalid_values_fail_at_startup_with_one_clear_message(
    clean_env: pytest.MonkeyPatch, variable: str, value: str, message: str
) -> None:
    clean_env.setenv(variable, value)
    with pytest.raises(ValidationError, match=message) as caught:
        Settings()
    assert caught.value.error_count() == 1


def test_settings_are_immutable_and_cached(clean_env: pytest.MonkeyPatch) -> None:
    settings_module.get_settings.cache_clear()
    try:
        first = settings_module.get_settings()
        assert settings_module.get_settings() is first
        with pytest.raises(ValidationError, match="frozen"):
            first.app_name = "changed"
    finally:
        settings_module.get_settings.cache_clear()


def test_fastapi_dev_means_development_unless_environment_says_otherwise(clean_env: pytest.MonkeyPatch) -> None:
    # `fastapi dev` sets FASTAPI_ENV=development; `fastapi run` sets nothing: each then serves what it announces.
    clean_env.setenv("FASTAPI_ENV", "development")
    assert Settings().environment == "development"
    clean_env.setenv("ENVIRONMENT", "staging")
    assert Settings().environment == "staging"
    assert Settings(environment="test").environment == "test"
