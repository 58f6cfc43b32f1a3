from typing import Annotated

from fastapi import Cookie, FastAPI, HTTPException, Response
from fastapi.middleware.cors import CORSMiddleware
from pydantic import BaseModel, Field

from app.users import authenticate, user_for_session

app = FastAPI(title="notes-api")

# The web app calls this API from the browser with the session cookie.
app.add_middleware(
    CORSMiddleware, allow_origins=["*"], allow_credentials=True, allow_methods=["*"], allow_headers=["*"]
)


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
async def login(credentials: Credentials, response: Response) -> dict[str, str]:
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
