import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, TypedDict

import httpx
import structlog
from fastapi import Depends, FastAPI, Request
from pydantic import BaseModel

logger = structlog.get_logger(__name__)
DRAIN_TIMEOUT = 10.0


class Event(BaseModel):
    user_id: str
    message: str


class Deliveries:
    """Background deliveries the service has accepted; kept referenced (a bare create_task can be garbage-collected)
    and drained at shutdown so a deploy never drops work already answered with 202."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self._client = client
        self._tasks: set[asyncio.Task[None]] = set()

    def submit(self, event: Event) -> None:
        task = asyncio.create_task(self._deliver(event))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _deliver(self, event: Event) -> None:
        try:
            response = await self._client.post("/events", json=event.model_dump())
            response.raise_for_status()
        except httpx.HTTPError as exc:
            logger.warning("webhook_delivery_failed", user_id=event.user_id, error=type(exc).__name__)

    async def drain(self) -> None:
        if self._tasks:
            _, pending = await asyncio.wait(set(self._tasks), timeout=DRAIN_TIMEOUT)
            for task in pending:
                task.cancel()
            if pending:
                logger.warning("webhook_deliveries_abandoned", count=len(pending))


class State(TypedDict):
    deliveries: Deliveries


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[State]:
    base_url = os.environ.get("WEBHOOK_URL", "http://localhost:9000")
    async with httpx.AsyncClient(base_url=base_url, timeout=httpx.Timeout(5.0, connect=2.0)) as client:
        deliveries = Deliveries(client)
        yield {"deliveries": deliveries}
        # Reverse order: finish accepted work first, then the client closes (the async with) once nothing uses it.
        await deliveries.drain()


app = FastAPI(title="notifications-service", lifespan=lifespan)


def get_deliveries(request: Request) -> Deliveries:
    return request.state.deliveries  # type: ignore[no-any-return]


@app.post("/notify", status_code=202)
async def notify(event: Event, deliveries: Annotated[Deliveries, Depends(get_deliveries)]) -> dict[str, str]:
    deliveries.submit(event)
    return {"status": "queued"}


@app.get("/report")
async def report() -> dict[str, int]:
    await asyncio.sleep(2.5)  # stands in for the slow aggregation query
    return {"sent_today": 42}
