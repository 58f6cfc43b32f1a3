from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

from app.core.error_handlers import install_error_handlers
from app.core.rate_limiting import create_rate_limiter, rate_limit
from app.core.settings import get_settings
from app.users import authenticate
from fastapi import Depends, FastAPI, HTTPException
from pydantic import BaseModel


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


@app.post("/auth/login")
async def login(
    credentials: Credentials,
    # Keyed on the peer address: behind a proxy, uvicorn's --forwarded-allow-ips (the proxy's own addresses) turns
    # X-Forwarded-For into the peer; a header from anyone else is never a key.
    _: Annotated[None, Depends(rate_limit("5/minute", scope="login"))],
) -> Session:
    token = authenticate(credentials.username, credentials.password)
    if token is None:
        raise HTTPException(status_code=401, detail="invalid credentials")
    return Session(token=token)


@app.get("/status")
async def status() -> dict[str, str]:
    return {"status": "ok"}
