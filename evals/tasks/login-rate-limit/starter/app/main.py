from fastapi import FastAPI, HTTPException
from pydantic import BaseModel

from app.users import authenticate

app = FastAPI(title="accounts-service")


class Credentials(BaseModel):
    username: str
    password: str


class Session(BaseModel):
    token: str


@app.post("/auth/login")
async def login(credentials: Credentials) -> Session:
    token = authenticate(credentials.username, credentials.password)
    if token is None:
        raise HTTPException(status_code=401, detail="invalid credentials")
    return Session(token=token)


@app.get("/status")
async def status() -> dict[str, str]:
    return {"status": "ok"}
