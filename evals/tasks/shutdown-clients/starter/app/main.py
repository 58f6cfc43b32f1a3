import asyncio
import os

import httpx
from fastapi import FastAPI
from pydantic import BaseModel

app = FastAPI(title="notifications-service")
client: httpx.AsyncClient | None = None


class Event(BaseModel):
    user_id: str
    message: str


@app.on_event("startup")
async def startup() -> None:
    global client
    client = httpx.AsyncClient(base_url=os.environ.get("WEBHOOK_URL", "http://localhost:9000"), timeout=5.0)


async def deliver(event: Event) -> None:
    assert client is not None
    await client.post("/events", json=event.model_dump())


@app.post("/notify", status_code=202)
async def notify(event: Event) -> dict[str, str]:
    asyncio.create_task(deliver(event))
    return {"status": "queued"}


@app.get("/report")
async def report() -> dict[str, int]:
    await asyncio.sleep(2.5)  # stands in for the slow aggregation query
    return {"sent_today": 42}
