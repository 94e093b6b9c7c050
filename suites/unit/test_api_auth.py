"""Login, the current user, and bearer token checks over HTTP."""



import time
from collections.abc import Callable

import pytest
from agent_chat.app import create_app
from agent_chat.config import Settings
from agent_chat.tokens import TokenSigner
from fastapi.testclient import TestClient
from unit_helpers import TOKEN_SECRET, ClientFactory, auth, login

INVALID_CREDENTIALS = {"detail": "invalid username or password"}


def test_login_returns_token_and_user(client: TestClient) -> None:
    response = client.post(
        "/api/login", json={"username": "alice", "password": "seed-password-for-tests"}
    )

    assert response.status_code == 200
    data = response.json()
    assert data["token_type"] == "bearer"
    assert data["expires_in"] == 3600
    assert data["user"] == {"id": 1, "username": "alice", "display_name": "Alice"}
    assert TokenSigner(TOKEN_SECRET, 3600).verify(data["token"]) == 1


def test_login_expires_in_follows_ttl(make_client: ClientFactory) -> None:
    client = make_client(token_ttl_s=120)

    response = client.post(
        "/api/login", json={"username": "bob", "password": "seed-password-for-tests"}
    )

    assert response.json()["expires_in"] == 120


@pytest.mark.parametrize(
    ("username", "password"),
    [
        ("alice", "wrong"),
        ("nobody", "seed-password-for-tests"),
        ("agent", ""),
        ("agent", "seed-password-for-tests"),
    ],
)
def test_login_rejects_bad_credentials(client: TestClient, username: str, password: str) -> None:
    response = client.post("/api/login", json={"username": username, "password": password})

    assert response.status_code == 401
    assert response.json() == INVALID_CREDENTIALS


def test_login_missing_field_is_422(client: TestClient) -> None:
    assert client.post("/api/login", json={"username": "alice"}).status_code == 422


def test_seeded_users_locked_without_seed_password(make_client: ClientFactory) -> None:
    client = make_client(seed_password=None)

    response = client.post("/api/login", json={"username": "alice", "password": ""})

    assert response.status_code == 401


def test_load_user_logs_in_with_derived_password(make_client: ClientFactory) -> None:
    client = make_client(load_secret="s3", load_users=100)

    first = client.post("/api/login", json={"username": "load00042", "password": "s3-load00042"})
    second = client.post("/api/login", json={"username": "load00042", "password": "s3-load00042"})

    assert first.status_code == 200
    assert first.json()["user"]["username"] == "load00042"
    assert first.json()["user"]["display_name"] == "load00042"
    assert second.json()["user"]["id"] == first.json()["user"]["id"]
    me = client.get("/api/me", headers=auth(first.json()["token"]))
    assert me.json()["username"] == "load00042"


@pytest.mark.parametrize(
    ("username", "password"),
    [
        ("load00042", "wrong"),
        ("load00042", "s3-load00043"),
        ("load00100", "s3-load00100"),
        ("load042", "s3-load042"),
    ],
)
def test_load_user_rejects_bad_login(
    make_client: ClientFactory, username: str, password: str
) -> None:
    client = make_client(load_secret="s3", load_users=100)

    response = client.post("/api/login", json={"username": username, "password": password})

    assert response.status_code == 401
    assert response.json() == INVALID_CREDENTIALS


def test_load_users_absent_without_secret(make_settings: Callable[..., Settings]) -> None:
    credentials = {"username": "load00001", "password": "s3-load00001"}
    with TestClient(create_app(make_settings(load_secret="s3"))) as with_secret:
        assert with_secret.post("/api/login", json=credentials).status_code == 200

    # The same database restarted without the secret: the stored row must not make the user usable.
    with TestClient(create_app(make_settings(load_secret=None))) as without_secret:
        response = without_secret.post("/api/login", json=credentials)

    assert response.status_code == 401


def test_me_returns_current_user(client: TestClient) -> None:
    response = client.get("/api/me", headers=auth(login(client, "carol")))

    assert response.status_code == 200
    assert response.json() == {"id": 3, "username": "carol", "display_name": "Carol"}


def test_missing_token_is_401(client: TestClient) -> None:
    response = client.get("/api/me")

    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert "missing bearer token" in response.json()["detail"]


def test_non_bearer_scheme_is_401(client: TestClient) -> None:
    assert client.get("/api/me", headers={"Authorization": "Basic YWxpY2U6eA=="}).status_code == 401


def test_expired_token_is_401(client: TestClient) -> None:
    token = TokenSigner(TOKEN_SECRET, 3600).issue(1, now=time.time() - 3601)

    response = client.get("/api/me", headers=auth(token))

    assert response.status_code == 401
    assert response.json() == {"detail": "token expired; log in again"}


def test_tampered_token_is_401(client: TestClient) -> None:
    version, _, expires, signature = login(client, "alice").split(".")

    response = client.get("/api/me", headers=auth(f"{version}.2.{expires}.{signature}"))

    assert response.status_code == 401
    assert response.json() == {"detail": "invalid token signature; log in again"}


def test_malformed_token_is_401(client: TestClient) -> None:
    response = client.get("/api/me", headers=auth("not-a-token"))

    assert response.status_code == 401
    assert response.json() == {"detail": "malformed token; log in again"}


def test_token_of_unknown_user_is_401(client: TestClient) -> None:
    token = TokenSigner(TOKEN_SECRET, 3600).issue(999)

    response = client.get("/api/rooms", headers=auth(token))

    assert response.status_code == 401
    assert response.json() == {"detail": "token for an unknown user; log in again"}


def test_token_from_other_secret_is_401(make_client: ClientFactory) -> None:
    token = TokenSigner(b"another-secret", 3600).issue(1)

    assert make_client().get("/api/me", headers=auth(token)).status_code == 401
