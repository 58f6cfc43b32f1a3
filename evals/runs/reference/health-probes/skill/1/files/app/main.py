from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from app.core.health_checks import readiness_checks
from app.core.health_checks import router as health_router
from app.db import Note, SessionDep, engine
from fastapi import FastAPI
from pydantic import BaseModel
from sqlalchemy import select, text


async def ping_database() -> None:
    async with engine.connect() as connection:
        await connection.execute(text("SELECT 1"))


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    # Registered next to the resource it checks; /health/ready runs every check concurrently under its timeout.
    readiness_checks(app).add("database", ping_database)
    yield
    # Pooled connections are closed when the server stops (in-flight requests have drained by then).
    await engine.dispose()


app = FastAPI(title="notes-service", lifespan=lifespan)
app.include_router(health_router)


class NoteIn(BaseModel):
    text: str


class NoteOut(BaseModel):
    id: int
    text: str


@app.post("/notes", status_code=201)
async def create_note(note: NoteIn, session: SessionDep) -> NoteOut:
    row = Note(text=note.text)
    session.add(row)
    await session.commit()
    return NoteOut(id=row.id, text=row.text)


@app.get("/notes")
async def list_notes(session: SessionDep) -> list[NoteOut]:
    rows = (await session.scalars(select(Note).order_by(Note.id))).all()
    return [NoteOut(id=row.id, text=row.text) for row in rows]
