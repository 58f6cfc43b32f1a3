from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from slowapi import Limiter
from slowapi.errors import RateLimitExceeded
from slowapi.util import get_ipaddr

from app.users import authenticate

limiter = Limiter(key_func=get_ipaddr)
app = FastAPI(title="accounts-service")
app.state.limiter = limiter


async def too_many(request: Request, exc: Exception) -> JSONResponse:
    return JSONResponse({"detail": "too many login attempts"}, status_code=429)


app.add_exception_handler(RateLimitExceeded, too_many)


class Credentials(BaseModel):
    username: str
    password: str


class Session(BaseModel):
    token: str


@app.post("/auth/login")
@limiter.limit("5/minute")
async def login(request: Request, credentials: Credentials) -> Session:
    token = authenticate(credentials.username, credentials.password)
    if token is None:
        raise HTTPException(status_code=401, detail="invalid credentials")
    return Session(token=token)


@app.get("/status")
async def status() -> dict[str, str]:
    return {"status": "ok"}
