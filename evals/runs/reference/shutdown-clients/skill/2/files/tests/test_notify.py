from starlette.testclient import TestClient

from app.main import app


def test_notify_answers_202() -> None:
    # TestClient runs the app's startup and shutdown around the block, like a server would.
    with TestClient(app) as client:
        response = client.post("/notify", json={"user_id": "u1", "message": "hi"})
    assert response.status_code == 202
