"""Behaviour the instruction asks for: the value endpoint and its 404."""

import pytest
from pf_eval import FakeUpstream, client_for, import_app


@pytest.mark.anyio
async def test_value_is_quantity_times_upstream_price(upstream: FakeUpstream) -> None:
    app = import_app({"PRICING_URL": upstream.url})
    async with client_for(app) as client:
        response = await client.get("/portfolio/alice/value")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["user_id"] == "alice"
    assert body["total"] == pytest.approx((10 + 5 + 2) * 2.0)
    assert sorted(upstream.requests) == ["/prices/ACME", "/prices/GLOBEX", "/prices/INITECH"]


@pytest.mark.anyio
async def test_unknown_user_is_404(upstream: FakeUpstream) -> None:
    app = import_app({"PRICING_URL": upstream.url})
    async with client_for(app) as client:
        response = await client.get("/portfolio/mallory/value")
    assert response.status_code == 404
