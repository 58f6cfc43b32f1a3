"""Configuration from the environment (read once, validated at startup)."""

from functools import lru_cache

from pydantic import AnyHttpUrl
from pydantic_settings import BaseSettings


class Settings(BaseSettings):
    pricing_url: AnyHttpUrl
    # Connect fast, bound the whole call: a pricing service that trickles bytes must not hold a request.
    pricing_connect_timeout: float = 1.0
    pricing_timeout: float = 3.0


@lru_cache
def get_settings() -> Settings:
    return Settings()  # type: ignore[call-arg]  # pricing_url comes from PRICING_URL
