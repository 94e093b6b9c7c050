"""Message posting, idempotent resends, history pages and the assistant over HTTP."""

import pytest
from agent_chat.assistant import HELP_TEXT
from fastapi.testclient import TestClient
from unit_helpers import GENERAL_ROOM_ID, login_headers, post_message

MESSAGES = f"/api/rooms/{GENERAL_ROOM_ID}/messages"


def test_post_message_returns_201(client: TestClient) -> None:
    response = client.post(
        MESSAGES, headers=login_headers(client, "alice"), json={"body": "hi", "client_msg_id": "c1"}
    )

    assert response.status_code == 201
    message = response.json()
    assert message["room_id"] == GENERAL_ROOM_ID
    assert message["author"] == {"id": 1, "username": "alice", "display_name": "Alice"}
    assert message["body"] == "hi"
    assert message["client_msg_id"] == "c1"
    assert message["created_at"].endswith("Z")


def test_resend_returns_stored_message(client: TestClient) -> None:
    headers = login_headers(client, "alice")
    first = client.post(MESSAGES, headers=headers, json={"body": "hi", "client_msg_id": "c1"})

    again = client.post(MESSAGES, headers=headers, json={"body": "edited", "client_msg_id": "c1"})

    assert again.status_code == 200
    assert again.json() == first.json()
    assert len(client.get(MESSAGES, headers=headers).json()["messages"]) == 1


def test_same_client_msg_id_other_authors(client: TestClient) -> None:
    alice = login_headers(client, "alice")
    bob = login_headers(client, "bob")

    first = client.post(MESSAGES, headers=alice, json={"body": "a", "client_msg_id": "same"})
    second = client.post(MESSAGES, headers=bob, json={"body": "b", "client_msg_id": "same"})

    assert first.status_code == 201
    assert second.status_code == 201
    assert first.json()["id"] != second.json()["id"]


def test_client_msg_id_reused_in_other_room_is_409(client: TestClient) -> None:
    alice = login_headers(client, "alice")
    room_id = client.post("/api/rooms", headers=alice, json={"name": "ops"}).json()["id"]
    post_message(client, alice, GENERAL_ROOM_ID, "first", "c1")

    response = client.post(
        f"/api/rooms/{room_id}/messages", headers=alice, json={"body": "x", "client_msg_id": "c1"}
    )

    assert response.status_code == 409
    assert "already used in room 1" in response.json()["detail"]


def test_post_requires_membership(client: TestClient) -> None:
    alice = login_headers(client, "alice")
    bob = login_headers(client, "bob")
    room_id = client.post("/api/rooms", headers=alice, json={"name": "ops"}).json()["id"]

    response = client.post(
        f"/api/rooms/{room_id}/messages", headers=bob, json={"body": "x", "client_msg_id": "c"}
    )

    assert response.status_code == 403
    assert response.json() == {
        "detail": f"user 'bob' is not a member of room {room_id}; join it first"
    }


def test_post_unknown_room_is_404(client: TestClient) -> None:
    response = client.post(
        "/api/rooms/999/messages",
        headers=login_headers(client, "alice"),
        json={"body": "x", "client_msg_id": "c"},
    )

    assert response.status_code == 404


def test_post_requires_token(client: TestClient) -> None:
    assert client.post(MESSAGES, json={"body": "x", "client_msg_id": "c"}).status_code == 401


@pytest.mark.parametrize(
    "payload",
    [
        {"body": "", "client_msg_id": "c"},
        {"body": "x" * 4001, "client_msg_id": "c"},
        {"body": "x"},
        {"body": "x", "client_msg_id": ""},
        {"body": "x", "client_msg_id": "c" * 65},
    ],
)
def test_post_invalid_payload_is_422(client: TestClient, payload: dict[str, str]) -> None:
    assert (
        client.post(MESSAGES, headers=login_headers(client, "alice"), json=payload).status_code
        == 422
    )


def test_post_max_lengths_accepted(client: TestClient) -> None:
    payload = {"body": "x" * 4000, "client_msg_id": "c" * 64}

    assert (
        client.post(MESSAGES, headers=login_headers(client, "alice"), json=payload).status_code
        == 201
    )


def test_history_pages_follow_cursor(client: TestClient) -> None:
    headers = login_headers(client, "alice")
    ids = [post_message(client, headers, GENERAL_ROOM_ID, f"m{i}", f"c{i}")["id"] for i in range(7)]

    pages: list[list[int]] = []
    cursor = None
    while True:
        params: dict[str, str | int] = (
            {"limit": 3} if cursor is None else {"limit": 3, "before": cursor}
        )
        page = client.get(MESSAGES, headers=headers, params=params).json()
        pages.append([message["id"] for message in page["messages"]])
        cursor = page["next_cursor"]
        if cursor is None:
            break

    assert pages == [ids[4:7], ids[1:4], ids[0:1]]


def test_history_default_limit_is_50(client: TestClient) -> None:
    headers = login_headers(client, "alice")
    for i in range(51):
        post_message(client, headers, GENERAL_ROOM_ID, "x", f"c{i}")

    page = client.get(MESSAGES, headers=headers).json()

    assert len(page["messages"]) == 50
    assert page["next_cursor"] is not None


def test_history_of_empty_room(client: TestClient) -> None:
    page = client.get(MESSAGES, headers=login_headers(client, "alice")).json()

    assert page == {"messages": [], "next_cursor": None}


@pytest.mark.parametrize("limit", [0, 201, "x"])
def test_history_invalid_limit_is_422(client: TestClient, limit: int | str) -> None:
    response = client.get(MESSAGES, headers=login_headers(client, "alice"), params={"limit": limit})

    assert response.status_code == 422


@pytest.mark.parametrize("cursor", ["zz", "bTp4", "eDox", "x" * 65, "%%%"])
def test_history_invalid_cursor_is_422(client: TestClient, cursor: str) -> None:
    response = client.get(
        MESSAGES, headers=login_headers(client, "alice"), params={"before": cursor}
    )

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", "before"]


def test_history_requires_membership(client: TestClient) -> None:
    alice = login_headers(client, "alice")
    room_id = client.post("/api/rooms", headers=alice, json={"name": "ops"}).json()["id"]

    response = client.get(f"/api/rooms/{room_id}/messages", headers=login_headers(client, "carol"))

    assert response.status_code == 403


def test_history_unknown_room_is_404(client: TestClient) -> None:
    assert (
        client.get("/api/rooms/999/messages", headers=login_headers(client, "alice")).status_code
        == 404
    )


@pytest.mark.parametrize(
    ("body", "reply"),
    [
        ("@agent ping", "pong"),
        ("@Agent echo Hello there", "Hello there"),
        ("@agent help", HELP_TEXT),
        ("@agent roll", "Sorry, I did not understand. Try @agent help."),
    ],
)
def test_agent_replies_in_room(client: TestClient, body: str, reply: str) -> None:
    headers = login_headers(client, "bob")
    message = post_message(client, headers, GENERAL_ROOM_ID, body, "c1")

    history = client.get(MESSAGES, headers=headers).json()["messages"]

    assert [m["id"] for m in history] == [message["id"], message["id"] + 1]
    answer = history[1]
    assert answer["author"]["username"] == "agent"
    assert answer["author"]["display_name"] == "Agent"
    assert answer["body"] == reply
    assert answer["client_msg_id"] == f"agent-reply-{message['id']}"


def test_agent_replies_once_to_resend(client: TestClient) -> None:
    headers = login_headers(client, "bob")
    post_message(client, headers, GENERAL_ROOM_ID, "@agent ping", "c1")
    post_message(client, headers, GENERAL_ROOM_ID, "@agent ping", "c1")

    history = client.get(MESSAGES, headers=headers).json()["messages"]

    assert [m["body"] for m in history] == ["@agent ping", "pong"]


def test_agent_ignores_plain_messages(client: TestClient) -> None:
    headers = login_headers(client, "bob")
    post_message(client, headers, GENERAL_ROOM_ID, "hello agent", "c1")

    assert len(client.get(MESSAGES, headers=headers).json()["messages"]) == 1
