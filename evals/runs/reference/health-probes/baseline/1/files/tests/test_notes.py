import importlib
import sys
from pathlib import Path

import httpx
import pytest


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.mark.anyio
async def test_create_and_list(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'notes.db'}")
    for name in [name for name in sys.modules if name == "app" or name.startswith("app.")]:
        del sys.modules[name]
    db = importlib.import_module("app.db")
    main = importlib.import_module("app.main")
    await db.init_models()
    transport = httpx.ASGITransport(app=main.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        created = await client.post("/notes", json={"text": "buy milk"})
        listed = await client.get("/notes")
    await db.engine.dispose()
    assert created.status_code == 201
    assert listed.json() == [{"id": 1, "text": "buy milk"}]
