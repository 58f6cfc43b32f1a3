"""The probes the platform team asked for, at the paths they named."""

import pytest
from pf_eval import client_for, import_app


@pytest.mark.anyio
async def test_liveness_answers_200(good_db: str) -> None:
    async with client_for(import_app({"DATABASE_URL": good_db})) as client:
        response = await client.get("/health/live")
    assert response.status_code == 200


@pytest.mark.anyio
async def test_readiness_answers_200_with_a_working_database(good_db: str) -> None:
    async with client_for(import_app({"DATABASE_URL": good_db})) as client:
        response = await client.get("/health/ready")
    assert response.status_code == 200


@pytest.mark.anyio
async def test_readiness_answers_503_when_the_database_is_unusable(broken_db: str) -> None:
    async with client_for(import_app({"DATABASE_URL": broken_db})) as client:
        response = await client.get("/health/ready")
    assert response.status_code == 503
