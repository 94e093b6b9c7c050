"""HTTP helpers shared by the API and WebSocket tests."""



from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

SEED_PASSWORD = "seed-password-for-tests"
TOKEN_SECRET = b"token-secret-for-tests"
GENERAL_ROOM_ID = 1

ClientFactory = Callable[..., TestClient]


def login(client: TestClient, username: str, password: str = SEED_PASSWORD) -> str:
    """Log in and return the bearer token."""
    response = client.post("/api/login", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return str(response.json()["token"])


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def login_headers(client: TestClient, username: str) -> dict[str, str]:
    return auth(login(client, username))


def post_message(
    client: TestClient, headers: dict[str, str], room_id: int, body: str, client_msg_id: str
) -> Any:
    response = client.post(
        f"/api/rooms/{room_id}/messages",
        headers=headers,
        json={"body": body, "client_msg_id": client_msg_id},
    )
    assert response.status_code in (200, 201), response.text
    return response.json()
