from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from app.core.error_handlers import AppError, app_error_handler
from app.core.rate_limiting import create_rate_limiter, rate_limit
from app.core.settings import get_settings
from app.core.validation_errors import install_safe_validation_errors
from app.users import authenticate, register, send_reset_mail
from fastapi import Depends, FastAPI, HTTPException
from pydantic import BaseModel, Field


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    app.state.rate_limiter = create_rate_limiter(get_settings())
    yield


app = FastAPI(title="accounts-service", lifespan=lifespan)
# Only the limiter's 429 (new, so no client parses it yet) uses the limiter's own body; every existing error keeps
# FastAPI's {"detail": ...} shape, which the mobile app parses.
app.add_exception_handler(AppError, app_error_handler)
# Same {"detail": [...]} shape, without the submitted password.
install_safe_validation_errors(app)

EMAIL = r"^[^@\s]+@[^@\s]+$"


class SignUp(BaseModel):
    email: str = Field(max_length=254, pattern=EMAIL)
    password: str = Field(min_length=10, max_length=128)


class Credentials(BaseModel):
    email: str
    password: str


class ResetRequest(BaseModel):
    email: str = Field(max_length=254, pattern=EMAIL)


# Per client address; behind a proxy, uvicorn's --forwarded-allow-ips (the proxy's addresses) sets it.
@app.post("/auth/signup", status_code=201, dependencies=[Depends(rate_limit("5/hour", scope="signup"))])
async def sign_up(body: SignUp) -> dict[str, str]:
    if not register(body.email, body.password):
        raise HTTPException(status_code=409, detail="email already registered")
    return {"email": body.email}


@app.post("/auth/token", dependencies=[Depends(rate_limit("5/minute", scope="token"))])
async def token(body: Credentials) -> dict[str, str]:
    access_token = authenticate(body.email, body.password)
    if access_token is None:
        raise HTTPException(status_code=401, detail="invalid credentials", headers={"WWW-Authenticate": "Bearer"})
    return {"access_token": access_token, "token_type": "bearer"}


@app.post("/auth/password-reset", status_code=202, dependencies=[Depends(rate_limit("3/hour", scope="reset"))])
async def password_reset(body: ResetRequest) -> dict[str, str]:
    # The same answer whether or not the account exists: the endpoint must not reveal who has one.
    send_reset_mail(body.email)
    return {"status": "if the account exists, a reset mail is on its way"}
