from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import Depends, FastAPI, HTTPException, Request
from pydantic import BaseModel

from app.core.error_handlers import install_error_handlers
from app.core.rate_limiting import create_rate_limiter, rate_limit
from app.core.settings import get_settings
from app.users import authenticate


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    # In-memory counters by default; REDIS_URL switches to Redis so every replica shares one count.
    app.state.rate_limiter = create_rate_limiter(get_settings())
    yield


app = FastAPI(title="accounts-service", lifespan=lifespan)
install_error_handlers(app)


class Credentials(BaseModel):
    username: str
    password: str


class Session(BaseModel):
    token: str


def forwarded_client(request: Request) -> str:
    forwarded = request.headers.get("x-forwarded-for")
    if forwarded:
        return forwarded.split(",")[0].strip()
    return request.client.host if request.client else "unknown"





@app.post("/auth/login")
async def login(
    credentials: Credentials,
    _: Annotated[None, Depends(rate_limit("5/minute", scope="login", key=forwarded_client))],
) -> Session:
    token = authenticate(credentials.username, credentials.password)
    if token is None:
        raise HTTPException(status_code=401, detail="invalid credentials")
    return Session(token=token)


@app.get("/status")
async def status() -> dict[str, str]:
    return {"status": "ok"}
