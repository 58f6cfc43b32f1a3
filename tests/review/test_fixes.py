"""The rules' automatic fixes as before/after source, plus no-op and idempotency cases.

Imports a fix needs are added by libcst's ``AddImportsVisitor`` and then merged into an existing ``from`` import in
isort order (as ruff would sort them); a fix never leaves a parenthesised leftover.

Each case runs the real fix loop (``fix_source``) restricted to one rule, so the rule decides what is fixable and
the libcst transformer rewrites exactly that, keeping formatting and comments elsewhere.
"""

from __future__ import annotations

import pytest

from production_fastapi.review import fix_source
from production_fastapi.rules import get_rule

CASES: list[tuple[str, str, str, str]] = [
    (
        "PF604",
        "field-renames",
        """\
from pydantic import BaseModel, Field


class Transfer(BaseModel):
    account: str = Field(regex=r"^[A-Z0-9]{10}$")  # keep this comment
    tags: list[str] = Field(default_factory=list, min_items=1, max_items=5)
    ref: str = Field("", allow_mutation=False)
""",
        """\
from pydantic import BaseModel, Field


class Transfer(BaseModel):
    account: str = Field(pattern=r"^[A-Z0-9]{10}$")  # keep this comment
    tags: list[str] = Field(default_factory=list, min_length=1, max_length=5)
    ref: str = Field("", frozen=True)
""",
    ),
    (
        "PF604",
        "fastapi-query-regex",
        """\
from typing import Annotated

from fastapi import FastAPI, Query

app = FastAPI()


@app.get("/accounts")
async def accounts(code: Annotated[str, Query(regex=r"^[A-Z]{3}$", max_length=3)]) -> list[str]:
    return [code]
""",
        """\
from typing import Annotated

from fastapi import FastAPI, Query

app = FastAPI()


@app.get("/accounts")
async def accounts(code: Annotated[str, Query(pattern=r"^[A-Z]{3}$", max_length=3)]) -> list[str]:
    return [code]
""",
    ),
    (
        "PF605",
        "basesettings-alone",
        """\
from pydantic import BaseSettings


class Settings(BaseSettings):
    database_url: str = "sqlite+aiosqlite:///./app.db"
""",
        """\
from pydantic_settings import BaseSettings


class Settings(BaseSettings):
    database_url: str = "sqlite+aiosqlite:///./app.db"
""",
    ),
    (
        "PF605",
        "basesettings-among-others",
        """\
from pydantic import BaseSettings, Field


class Settings(BaseSettings):
    database_url: str = Field("sqlite+aiosqlite:///./app.db")
""",
        """\
from pydantic import Field
from pydantic_settings import BaseSettings


class Settings(BaseSettings):
    database_url: str = Field("sqlite+aiosqlite:///./app.db")
""",
    ),
    (
        "PF603",
        "validator-and-pre-root-validator",
        """\
from typing import Any

from pydantic import BaseModel, root_validator, validator


class Signup(BaseModel):
    email: str
    name: str

    @validator("email", "name", pre=True, allow_reuse=True)
    def strip(cls, value: str) -> str:
        return value.strip()

    @root_validator(pre=True)
    def defaults(cls, values: dict[str, Any]) -> dict[str, Any]:
        return {"name": "anonymous", **values}
""",
        """\
from typing import Any

from pydantic import BaseModel, field_validator, model_validator


class Signup(BaseModel):
    email: str
    name: str

    @field_validator("email", "name", mode="before")
    @classmethod
    def strip(cls, value: str) -> str:
        return value.strip()

    @model_validator(mode="before")
    @classmethod
    def defaults(cls, values: dict[str, Any]) -> dict[str, Any]:
        return {"name": "anonymous", **values}
""",
    ),
    (
        "PF602",
        "config-class-to-configdict",
        """\
from pydantic import BaseModel, Extra


class UserOut(BaseModel):
    public_id: str

    class Config:
        orm_mode = True
        allow_population_by_field_name = True
        extra = Extra.forbid
""",
        """\
from pydantic import BaseModel, ConfigDict


class UserOut(BaseModel):
    public_id: str

    model_config = ConfigDict(from_attributes=True, populate_by_name=True, extra="forbid")
""",
    ),
    (
        "PF602",
        "settings-config",
        """\
from pydantic_settings import BaseSettings


class Settings(BaseSettings):
    database_url: str = "sqlite+aiosqlite:///./app.db"

    class Config:
        env_file = ".env"
        case_sensitive = False
""",
        """\
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    database_url: str = "sqlite+aiosqlite:///./app.db"

    model_config = SettingsConfigDict(env_file=".env", case_sensitive=False)
""",
    ),
]

CASES += [
    (
        "PF801",
        "gunicorn-worker-class",
        """\
import multiprocessing

from uvicorn.workers import UvicornWorker

bind = "0.0.0.0:8000"
workers = multiprocessing.cpu_count()
worker_class = "uvicorn.workers.UvicornWorker"  # the ASGI worker
fallback = UvicornWorker
""",
        """\
import multiprocessing

from uvicorn_worker import UvicornWorker

bind = "0.0.0.0:8000"
workers = multiprocessing.cpu_count()
worker_class = "uvicorn_worker.UvicornWorker"  # the ASGI worker
fallback = UvicornWorker
""",
    ),
]

CASES += [
    (
        "PF101",
        "startup-shutdown-pair",
        """\
import httpx
from fastapi import FastAPI

app = FastAPI(title="orders")


@app.on_event("startup")
async def startup() -> None:
    \"\"\"Open the shared client.\"\"\"
    app.state.http = httpx.AsyncClient(timeout=10.0)  # one pool per process


@app.on_event("shutdown")
async def shutdown() -> None:
    await app.state.http.aclose()


@app.get("/health/live")
async def live() -> dict[str, str]:
    return {"status": "ok"}
""",
        """\
import httpx
from fastapi import FastAPI
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    app.state.http = httpx.AsyncClient(timeout=10.0)  # one pool per process
    try:
        yield
    finally:
        await app.state.http.aclose()


app = FastAPI(title="orders", lifespan=lifespan)


@app.get("/health/live")
async def live() -> dict[str, str]:
    return {"status": "ok"}
""",
    ),
    (
        "PF101",
        "startup-only-trailing-comma",
        """\
from fastapi import FastAPI

from app.cache import warm

app = FastAPI(
    title="orders",
    version="1.0",
)


@app.on_event("startup")
async def load() -> None:
    await warm()
""",
        """\
from fastapi import FastAPI

from app.cache import warm
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    await warm()
    yield


app = FastAPI(
    title="orders",
    version="1.0",
    lifespan=lifespan,
)
""",
    ),
]

CASES += [
    (
        "PF708",
        "aioredis-imports",
        """\
import aioredis
from aioredis.exceptions import ConnectionError as RedisDown

cache = aioredis.from_url("redis://cache:6379/0")
""",
        """\
import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisDown

cache = aioredis.from_url("redis://cache:6379/0")
""",
    ),
]

CASES += [
    (
        "PF904",
        "get-ipaddr",
        """\
from slowapi import Limiter
from slowapi.util import get_ipaddr

limiter = Limiter(key_func=get_ipaddr, headers_enabled=True)
""",
        """\
from slowapi import Limiter
from slowapi.util import get_remote_address

limiter = Limiter(key_func=get_remote_address, headers_enabled=True)
""",
    ),
]

UNFIXABLE_EXTRA: list[tuple[str, str, str]] = [
    (
        "PF101",
        "two-startup-handlers",
        """\
from fastapi import FastAPI

app = FastAPI()


@app.on_event("startup")
async def one() -> None: ...


@app.on_event("startup")
async def two() -> None: ...
""",
    ),
    (
        "PF101",
        "lifespan-already-set",
        """\
from fastapi import FastAPI

from app.lifespan import lifespan

app = FastAPI(lifespan=lifespan)


@app.on_event("startup")
async def one() -> None: ...
""",
    ),
]

# Reported but deliberately not rewritten: the v2 spelling would change behaviour.
UNFIXABLE: list[tuple[str, str, str]] = [
    (
        "PF603",
        "validator-with-values",
        """\
from pydantic import BaseModel, validator


class Signup(BaseModel):
    password: str
    confirm: str

    @validator("confirm")
    def matches(cls, value: str, values: dict[str, str]) -> str:
        if value != values.get("password"):
            raise ValueError("passwords differ")
        return value
""",
    ),
    (
        "PF604",
        "const",
        """\
from pydantic import BaseModel, Field


class Transfer(BaseModel):
    kind: str = Field("transfer", const=True)
""",
    ),
    (
        "PF602",
        "config-with-comment",
        """\
from pydantic import BaseModel


class UserOut(BaseModel):
    public_id: str

    class Config:
        orm_mode = True  # read from SQLAlchemy rows
""",
    ),
    (
        "PF605",
        "pydantic-v1",
        """\
from pydantic.v1 import BaseModel


class Legacy(BaseModel):
    name: str
""",
    ),
]


@pytest.mark.parametrize(("code", "before", "after"), [(c, b, a) for c, _, b, a in CASES],
                         ids=[f"{c}-{n}" for c, n, _, _ in CASES])
def test_fix_rewrites_to_expected_source(code: str, before: str, after: str) -> None:
    fixed, remaining = fix_source(before, select=[code], unsafe_fixes=True)
    assert fixed == after
    assert not [f for f in remaining if f.code == code]
    again, _ = fix_source(fixed, select=[code], unsafe_fixes=True)
    assert again == fixed, "a second run must change nothing"


UNFIXABLE += UNFIXABLE_EXTRA


@pytest.mark.parametrize(("code", "source"), [(c, s) for c, _, s in UNFIXABLE],
                         ids=[f"{c}-{n}" for c, n, _ in UNFIXABLE])
def test_unsafe_shapes_are_reported_but_left_alone(code: str, source: str) -> None:
    fixed, remaining = fix_source(source, select=[code], unsafe_fixes=True)
    assert fixed == source
    findings = [f for f in remaining if f.code == code]
    assert findings
    assert not any(f.fixable for f in findings)


@pytest.mark.parametrize("code", sorted({c for c, _, _, _ in CASES}))
def test_fix_is_a_no_op_on_clean_code(code: str) -> None:
    rule = get_rule(code)
    clean = rule.docs.use_instead
    fixed, remaining = fix_source(clean, select=[code], unsafe_fixes=True)
    assert fixed == clean
    assert not [f for f in remaining if f.code == code]
