"""Stopping cleanly, in the sense that matters: queued work finishes and connections are closed."""

import pytest
from pf_eval import FakeUpstream, client_for, eventually, import_app


@pytest.mark.anyio
async def test_queued_notifications_are_delivered_before_shutdown_completes(webhook: FakeUpstream) -> None:
    # A deploy stops the old pod right after it answered 202: work it accepted must not be dropped.
    webhook.mode, webhook.delay = "slow", 0.6
    async with client_for(import_app({"WEBHOOK_URL": webhook.url})) as client:
        response = await client.post("/notify", json={"user_id": "u3", "message": "deploy-time event"})
        assert response.status_code == 202
    assert any(b"deploy-time event" in body for body in webhook.posted), "accepted notification lost at shutdown"


@pytest.mark.anyio
async def test_outbound_connections_are_closed_at_shutdown(webhook: FakeUpstream) -> None:
    async with client_for(import_app({"WEBHOOK_URL": webhook.url})) as client:
        await client.post("/notify", json={"user_id": "u4", "message": "hello"})
        await eventually(lambda: bool(webhook.posted))
        assert webhook.open_connections >= 1
    await eventually(lambda: webhook.open_connections == 0, within=2)
    assert webhook.open_connections == 0, "the webhook connection stayed open after the app shut down"
