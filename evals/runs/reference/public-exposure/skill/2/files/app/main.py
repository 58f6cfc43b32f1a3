from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

from app.core.body_limit import install_body_limit
from app.core.error_handlers import AppError, app_error_handler
from app.core.rate_limiting import create_rate_limiter, rate_limit
from app.core.settings import get_settings
from app.core.validation_errors import install_safe_validation_errors
from app.users import authenticate, user_for_session
from fastapi import Cookie, Depends, FastAPI, HTTPException, Response
from fastapi.middleware.cors import CORSMiddleware
from pydantic import BaseModel, Field

# The browser front-ends allowed to call the API with the user's session cookie; never "*" with credentials.
WEB_APP_ORIGINS = ["https://notes.example.com"]


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    app.state.rate_limiter = create_rate_limiter(get_settings())
    yield


app = FastAPI(title="notes-api", lifespan=lifespan)
# The 429 the limiter raises; every other error keeps the shape the web app already parses.
app.add_exception_handler(AppError, app_error_handler)
# 422 bodies keep {"detail": [...]} but no longer repeat the submitted password.
install_safe_validation_errors(app)

app.add_middleware(
    CORSMiddleware,
    allow_origins=WEB_APP_ORIGINS,
    allow_credentials=True,
    allow_methods=["GET", "POST"],
    allow_headers=["Content-Type"],
)
# Innermost whatever the order, so its 413 still carries the CORS headers.
install_body_limit(app, max_body_size=1_048_576)


class Credentials(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=8, max_length=128)


class NoteIn(BaseModel):
    text: str = Field(min_length=1)


class Note(NoteIn):
    id: int
    owner: str


NOTES: dict[int, Note] = {}


def current_user(session: str | None) -> str:
    user = user_for_session(session)
    if user is None:
        raise HTTPException(status_code=401, detail="not signed in")
    return user


@app.post("/auth/login")
async def login(
    credentials: Credentials,
    response: Response,
    # Per client address; behind a proxy, uvicorn's --forwarded-allow-ips (the proxy's addresses) sets it.
    _: Annotated[None, Depends(rate_limit("5/minute", scope="login"))],
) -> dict[str, str]:
    token = authenticate(credentials.username, credentials.password)
    if token is None:
        raise HTTPException(status_code=401, detail="invalid credentials")
    response.set_cookie("session", token, httponly=True, secure=True, samesite="none")
    return {"user": credentials.username}


@app.post("/notes", status_code=201)
async def create_note(note: NoteIn, session: Annotated[str | None, Cookie()] = None) -> Note:
    stored = Note(id=len(NOTES) + 1, owner=current_user(session), text=note.text)
    NOTES[stored.id] = stored
    return stored


@app.get("/notes/{note_id}")
async def get_note(note_id: int, session: Annotated[str | None, Cookie()] = None) -> Note:
    user = current_user(session)
    note = NOTES.get(note_id)
    if note is None or note.owner != user:
        raise HTTPException(status_code=404, detail="note not found")
    return note
