from fastapi import FastAPI, HTTPException
from pydantic import BaseModel, Field

from app.users import authenticate, register, send_reset_mail

app = FastAPI(title="accounts-service")

EMAIL = r"^[^@\s]+@[^@\s]+$"


class SignUp(BaseModel):
    email: str = Field(max_length=254, pattern=EMAIL)
    password: str = Field(min_length=10, max_length=128)


class Credentials(BaseModel):
    email: str
    password: str


class ResetRequest(BaseModel):
    email: str = Field(max_length=254, pattern=EMAIL)


@app.post("/auth/signup", status_code=201)
async def sign_up(body: SignUp) -> dict[str, str]:
    if not register(body.email, body.password):
        raise HTTPException(status_code=409, detail="email already registered")
    return {"email": body.email}


@app.post("/auth/token")
async def token(body: Credentials) -> dict[str, str]:
    access_token = authenticate(body.email, body.password)
    if access_token is None:
        raise HTTPException(status_code=401, detail="invalid credentials", headers={"WWW-Authenticate": "Bearer"})
    return {"access_token": access_token, "token_type": "bearer"}


@app.post("/auth/password-reset", status_code=202)
async def password_reset(body: ResetRequest) -> dict[str, str]:
    # The same answer whether or not the account exists: the endpoint must not reveal who has one.
    send_reset_mail(body.email)
    return {"status": "if the account exists, a reset mail is on its way"}
