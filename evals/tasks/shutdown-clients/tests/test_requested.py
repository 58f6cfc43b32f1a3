"""What the instruction names: no deprecation warnings at startup, 202 at once, delivery, clean stop."""

import threading
import time
import warnings

import httpx
import pytest
from pf_eval import FakeUpstream, Server, client_for, eventually, import_app


@pytest.mark.anyio
async def test_starts_without_deprecation_warnings(webhook: FakeUpstream) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        app = import_app({"WEBHOOK_URL": webhook.url})
        async with client_for(app) as client:
            assert (await client.post("/notify", json={"user_id": "u1", "message": "hi"})).status_code == 202
    deprecations = [str(w.message) for w in caught if issubclass(w.category, DeprecationWarning)]
    assert not deprecations, deprecations


@pytest.mark.anyio
async def test_notification_is_delivered(webhook: FakeUpstream) -> None:
    async with client_for(import_app({"WEBHOOK_URL": webhook.url})) as client:
        response = await client.post("/notify", json={"user_id": "u2", "message": "parcel shipped"})
        assert response.status_code == 202
        await eventually(lambda: bool(webhook.posted))
    assert webhook.posted
    assert b"parcel shipped" in webhook.posted[0]


def test_in_flight_request_finishes_on_sigterm(webhook: FakeUpstream) -> None:
    with Server(env={"WEBHOOK_URL": webhook.url}) as server:
        result: dict[str, int] = {}
        thread = threading.Thread(
            target=lambda: result.update(status=httpx.get(f"{server.url}/report", timeout=10).status_code)
        )
        thread.start()
        time.sleep(1.0)  # the request is in flight (it takes 2.5 s) when the deploy's SIGTERM arrives
        code = server.stop()
        thread.join(timeout=10)
    assert result.get("status") == 200
    # uvicorn exits 0, or re-raises the signal after a clean shutdown (exit status -SIGTERM).
    assert code in (0, -15), server.output()[-2000:]
