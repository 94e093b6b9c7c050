"""Room listing, creation and joining over HTTP."""

import pytest
from fastapi.testclient import TestClient
from unit_helpers import GENERAL_ROOM_ID, login_headers


def test_rooms_lists_general(client: TestClient) -> None:
    response = client.get("/api/rooms", headers=login_headers(client, "alice"))

    assert response.status_code == 200
    rooms = response.json()["rooms"]
    assert [(room["id"], room["name"], room["member"]) for room in rooms] == [
        (GENERAL_ROOM_ID, "general", True)
    ]
    assert rooms[0]["created_at"].endswith("Z")


def test_rooms_sorted_with_member_flags(client: TestClient) -> None:
    alice = login_headers(client, "alice")
    bob = login_headers(client, "bob")
    client.post("/api/rooms", headers=alice, json={"name": "zeta"})
    client.post("/api/rooms", headers=alice, json={"name": "alpha"})

    rooms = client.get("/api/rooms", headers=bob).json()["rooms"]

    assert [room["name"] for room in rooms] == ["general", "zeta", "alpha"]
    assert [room["member"] for room in rooms] == [True, False, False]


def test_create_room_makes_creator_member(client: TestClient) -> None:
    response = client.post(
        "/api/rooms", headers=login_headers(client, "alice"), json={"name": "  ops  "}
    )

    assert response.status_code == 201
    room = response.json()
    assert room["name"] == "ops"
    assert room["member"] is True
    assert set(room) == {"id", "name", "member", "created_at"}


def test_create_room_duplicate_is_409(client: TestClient) -> None:
    headers = login_headers(client, "alice")

    response = client.post("/api/rooms", headers=headers, json={"name": "general"})

    assert response.status_code == 409
    assert response.json() == {
        "detail": "a room named 'general' already exists; choose another name"
    }


@pytest.mark.parametrize("name", ["", "   ", "x" * 65])
def test_create_room_invalid_name_is_422(client: TestClient, name: str) -> None:
    response = client.post(
        "/api/rooms", headers=login_headers(client, "alice"), json={"name": name}
    )

    assert response.status_code == 422


def test_create_room_max_length_name(client: TestClient) -> None:
    response = client.post(
        "/api/rooms", headers=login_headers(client, "alice"), json={"name": "x" * 64}
    )

    assert response.status_code == 201


def test_create_room_requires_token(client: TestClient) -> None:
    assert client.post("/api/rooms", json={"name": "ops"}).status_code == 401


def test_join_room_is_idempotent(client: TestClient) -> None:
    alice = login_headers(client, "alice")
    bob = login_headers(client, "bob")
    room_id = client.post("/api/rooms", headers=alice, json={"name": "ops"}).json()["id"]

    first = client.post(f"/api/rooms/{room_id}/join", headers=bob)
    second = client.post(f"/api/rooms/{room_id}/join", headers=bob)

    assert first.status_code == 200
    assert first.json()["member"] is True
    assert second.status_code == 200
    assert second.json() == first.json()
    assert client.get("/api/rooms", headers=bob).json()["rooms"][1]["member"] is True


def test_join_unknown_room_is_404(client: TestClient) -> None:
    response = client.post("/api/rooms/999/join", headers=login_headers(client, "alice"))

    assert response.status_code == 404
    assert response.json() == {"detail": "room 999 not found"}


def test_join_non_integer_room_is_422(client: TestClient) -> None:
    assert (
        client.post("/api/rooms/abc/join", headers=login_headers(client, "alice")).status_code
        == 422
    )


def test_delete_room_removes_messages(client: TestClient) -> None:
    alice = login_headers(client, "alice")
    room_id = client.post("/api/rooms", headers=alice, json={"name": "scratch"}).json()["id"]
    client.post(
        f"/api/rooms/{room_id}/messages", headers=alice, json={"body": "x", "client_msg_id": "c1"}
    )

    deleted = client.delete(f"/api/rooms/{room_id}", headers=alice)

    assert deleted.status_code == 204
    names = [room["name"] for room in client.get("/api/rooms", headers=alice).json()["rooms"]]
    assert names == ["general"]
    assert client.get(f"/api/rooms/{room_id}/messages", headers=alice).status_code == 404


def test_delete_room_only_by_creator(client: TestClient) -> None:
    alice = login_headers(client, "alice")
    bob = login_headers(client, "bob")
    room_id = client.post("/api/rooms", headers=alice, json={"name": "mine"}).json()["id"]
    client.post(f"/api/rooms/{room_id}/join", headers=bob)

    assert client.delete(f"/api/rooms/{room_id}", headers=bob).status_code == 403
    assert client.delete("/api/rooms/99999", headers=alice).status_code == 404
    assert client.delete(f"/api/rooms/{room_id}", headers=alice).status_code == 204
