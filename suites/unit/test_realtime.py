"""WebSocket delivery through the app, and the hub's fan-out with slow and dead connections."""

import asyncio
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from agent_chat import realtime
from agent_chat.models import User
from agent_chat.realtime import Connection, Hub
from agent_chat.services import Services
from fastapi.testclient import TestClient
from starlette.testclient import WebSocketTestSession
from starlette.websockets import WebSocketDisconnect
from unit_helpers import GENERAL_ROOM_ID, login, login_headers, post_message


def receive_event(ws: WebSocketTestSession, event_type: str = "message") -> dict[str, Any]:
    event: dict[str, Any] = ws.receive_json()
    assert event["type"] == event_type, event
    return event


@contextmanager
def connect(
    client: TestClient, username: str
) -> Iterator[tuple[WebSocketTestSession, dict[str, str]]]:
    """Open the user's WebSocket, check the ready event, and yield it with HTTP headers."""
    token = login(client, username)
    with client.websocket_connect(f"/api/ws?token={token}") as ws:
        assert receive_event(ws, "ready")["user"]["username"] == username
        yield ws, {"Authorization": f"Bearer {token}"}


def hub_of(client: TestClient) -> Hub:
    services: Services = client.app.state.services  # type: ignore[attr-defined]
    return services.hub


def test_ready_event_has_user(client: TestClient) -> None:
    token = login(client, "alice")

    with client.websocket_connect(f"/api/ws?token={token}") as ws:
        event = ws.receive_json()

    assert event == {
        "type": "ready",
        "user": {"id": 1, "username": "alice", "display_name": "Alice"},
    }


@pytest.mark.parametrize("query", ["", "?token=", "?token=bad", "?token=v1.1.1.AAAA"])
def test_bad_token_closes_4401(client: TestClient, query: str) -> None:
    with (
        client.websocket_connect(f"/api/ws{query}") as ws,
        pytest.raises(WebSocketDisconnect) as closed,
    ):
        ws.receive_json()

    assert closed.value.code == 4401
    assert closed.value.reason.endswith("log in again")


def test_message_reaches_two_members(client: TestClient) -> None:
    with connect(client, "alice") as (alice_ws, alice), connect(client, "bob") as (bob_ws, _):
        sent = post_message(client, alice, GENERAL_ROOM_ID, "hello both", "c1")

        assert receive_event(alice_ws)["message"] == sent
        assert receive_event(bob_ws)["message"] == sent


def test_resend_is_not_broadcast_again(client: TestClient) -> None:
    with connect(client, "bob") as (bob_ws, _):
        alice = login_headers(client, "alice")

        first = post_message(client, alice, GENERAL_ROOM_ID, "once", "c1")
        post_message(client, alice, GENERAL_ROOM_ID, "once", "c1")
        second = post_message(client, alice, GENERAL_ROOM_ID, "next", "c2")

        assert receive_event(bob_ws)["message"]["id"] == first["id"]
        assert receive_event(bob_ws)["message"]["id"] == second["id"]


def test_agent_reply_is_pushed(client: TestClient) -> None:
    with connect(client, "carol") as (carol_ws, carol):
        sent = post_message(client, carol, GENERAL_ROOM_ID, "@agent echo back", "c1")

        assert receive_event(carol_ws)["message"]["id"] == sent["id"]
        reply = receive_event(carol_ws)["message"]
        assert reply["author"]["username"] == "agent"
        assert reply["body"] == "back"
        assert reply["client_msg_id"] == f"agent-reply-{sent['id']}"


def test_non_member_gets_no_events(client: TestClient) -> None:
    with connect(client, "bob") as (bob_ws, _):
        carol = login_headers(client, "carol")
        room_id = client.post("/api/rooms", headers=carol, json={"name": "private"}).json()["id"]

        post_message(client, carol, room_id, "secret plans", "c1")
        public = post_message(client, carol, GENERAL_ROOM_ID, "public", "c2")

        # Bob's next event is the general message, so the private one was never queued for him.
        assert receive_event(bob_ws)["message"]["id"] == public["id"]


def test_room_joined_after_connect_is_delivered(client: TestClient) -> None:
    with connect(client, "alice") as (alice_ws, alice):
        carol = login_headers(client, "carol")
        room_id = client.post("/api/rooms", headers=carol, json={"name": "later"}).json()["id"]

        assert client.post(f"/api/rooms/{room_id}/join", headers=alice).status_code == 200
        sent = post_message(client, carol, room_id, "welcome", "c1")

        assert receive_event(alice_ws)["message"] == sent


def test_created_room_is_delivered_to_creator(client: TestClient) -> None:
    with connect(client, "alice") as (alice_ws, alice):
        room_id = client.post("/api/rooms", headers=alice, json={"name": "mine"}).json()["id"]

        sent = post_message(client, alice, room_id, "first", "c1")

        assert receive_event(alice_ws)["message"] == sent


def test_ping_gets_pong(client: TestClient) -> None:
    with connect(client, "alice") as (ws, _):
        ws.send_json({"type": "ping"})

        assert ws.receive_json() == {"type": "pong"}


@pytest.mark.parametrize("frame", ["not json", '{"type": "subscribe"}', "[]"])
def test_unsupported_text_frame_gets_error(client: TestClient, frame: str) -> None:
    with connect(client, "alice") as (ws, _):
        ws.send_text(frame)

        assert receive_event(ws, "error")["detail"].startswith("unsupported frame")


def test_binary_frame_gets_error(client: TestClient) -> None:
    with connect(client, "alice") as (ws, _):
        ws.send_bytes(b'{"type": "ping"}')

        assert receive_event(ws, "error")["detail"].startswith("unsupported frame")


def test_disconnect_unregisters_connection(client: TestClient) -> None:
    with connect(client, "alice"):
        assert hub_of(client).connection_count == 1

    deadline = time.monotonic() + 5
    while hub_of(client).connection_count and time.monotonic() < deadline:
        time.sleep(0.01)
    assert hub_of(client).connection_count == 0


class FakeWebSocket:
    """WebSocket stand-in that records frames, and whose sends can block to act as a slow client."""

    def __init__(self, blocked: bool = False) -> None:
        self.sent: list[dict[str, Any]] = []
        self.closed_with: tuple[int, str] | None = None
        self.blocked = blocked
        self.incoming: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.fail_with: Exception | None = None

    async def send_text(self, text: str) -> None:
        if self.fail_with is not None:
            raise self.fail_with
        if self.blocked:
            await asyncio.Event().wait()
        self.sent.append(json.loads(text))

    async def close(self, code: int, reason: str) -> None:
        self.closed_with = (code, reason)
        await self.incoming.put({"type": "websocket.disconnect", "code": code})

    async def receive(self) -> dict[str, Any]:
        return await self.incoming.get()


def make_connection(websocket: FakeWebSocket, user_id: int, queue_size: int = 4) -> Connection:
    user = User(id=user_id, username=f"user{user_id}", display_name=f"User {user_id}")
    return Connection(websocket, user, queue_size=queue_size)  # type: ignore[arg-type]


async def settle() -> None:
    for _ in range(10):
        await asyncio.sleep(0)


def test_slow_client_does_not_block_others() -> None:
    async def scenario() -> None:
        hub = Hub()
        slow_socket, fast_socket = FakeWebSocket(blocked=True), FakeWebSocket()
        slow, fast = make_connection(slow_socket, 1), make_connection(fast_socket, 2)
        hub.register(slow, [7])
        hub.register(fast, [7])
        tasks = [asyncio.create_task(slow.serve()), asyncio.create_task(fast.serve())]

        for i in range(20):
            assert hub.publish(7, {"type": "message", "n": i}) == 2
            await settle()

        assert [event["n"] for event in fast_socket.sent] == list(range(20))
        assert slow.too_slow is True
        await asyncio.wait_for(tasks[0], 5)
        assert slow_socket.closed_with == (1013, "client is too slow to receive events")
        assert fast_socket.closed_with is None
        await fast_socket.incoming.put({"type": "websocket.disconnect", "code": 1000})
        await asyncio.wait_for(tasks[1], 5)

    asyncio.run(scenario())


def test_overflowed_connection_drops_events() -> None:
    connection = make_connection(FakeWebSocket(), 1, queue_size=1)

    async def scenario() -> None:
        connection.enqueue("a")
        connection.enqueue("b")
        connection.enqueue("c")

    asyncio.run(scenario())

    assert connection.too_slow is True
    assert connection._queue.qsize() == 0


def test_send_timeout_closes_connection(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(realtime, "SEND_TIMEOUT_S", 0.05)
    websocket = FakeWebSocket(blocked=True)

    async def scenario() -> None:
        connection = make_connection(websocket, 1)
        connection.enqueue('{"type": "message"}')
        await asyncio.wait_for(connection.serve(), 5)

    asyncio.run(scenario())

    assert websocket.closed_with == (1013, "client is too slow to receive events")


def test_send_to_dead_socket_ends_connection() -> None:
    websocket = FakeWebSocket()
    websocket.fail_with = RuntimeError("Cannot call send once a close message has been sent.")

    async def scenario() -> None:
        connection = make_connection(websocket, 1)
        connection.enqueue('{"type": "message"}')
        await asyncio.wait_for(connection.serve(), 5)

    asyncio.run(scenario())

    assert websocket.closed_with is None


def test_close_of_closed_socket_is_ignored() -> None:
    async def scenario() -> None:
        websocket = FakeWebSocket()

        async def close_fails(code: int, reason: str) -> None:
            raise RuntimeError("already closed")

        websocket.close = close_fails  # type: ignore[method-assign]
        connection = make_connection(websocket, 1, queue_size=1)
        serving = asyncio.create_task(connection.serve())
        await asyncio.sleep(0)
        connection.enqueue("{}")
        connection.enqueue("{}")
        connection.enqueue("{}")
        await asyncio.wait_for(serving, 5)

    asyncio.run(scenario())


def test_publish_to_empty_room_returns_zero() -> None:
    assert Hub().publish(1, {"type": "message"}) == 0


def test_unregister_cleans_indexes() -> None:
    async def scenario() -> None:
        hub = Hub()
        connection = make_connection(FakeWebSocket(), 1)
        hub.register(connection, [1, 2])
        hub.subscribe(1, 3)

        hub.unregister(connection)
        hub.unregister(connection)

        assert hub.connection_count == 0
        assert connection.room_ids == set()
        assert hub.publish(1, {}) == 0
        assert hub.publish(3, {}) == 0

    asyncio.run(scenario())


def test_subscribe_reaches_every_user_connection() -> None:
    async def scenario() -> None:
        hub = Hub()
        first, second = make_connection(FakeWebSocket(), 1), make_connection(FakeWebSocket(), 1)
        other = make_connection(FakeWebSocket(), 2)
        for connection in (first, second, other):
            hub.register(connection, [])

        hub.subscribe(1, 9)

        assert hub.publish(9, {"type": "message"}) == 2
        assert hub.connection_count == 3

    asyncio.run(scenario())
