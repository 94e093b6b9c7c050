"""The api channel: the product's REST API over httpx and its WebSocket for realtime delivery."""

from __future__ import annotations

import json
import logging
import threading
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import httpx
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from harness.channels.base import ChannelError, ChatMessage, LoginRejected, Room

__all__ = ["ApiChannel", "ApiSession"]

log = logging.getLogger(__name__)


def message_from(data: dict[str, Any]) -> ChatMessage:
    return ChatMessage(
        id=str(data["id"]),
        room_id=str(data["room_id"]),
        author=str(data["author"]["username"]),
        body=str(data["body"]),
        client_msg_id=str(data["client_msg_id"]),
    )


def check(response: httpx.Response, action: str) -> dict[str, Any]:
    if response.is_error:
        raise ChannelError(f"{action} failed: HTTP {response.status_code} {response.text[:200]}")
    data: dict[str, Any] = response.json()
    return data


def history_pages(client: httpx.Client, room: Room, page_size: int) -> list[list[ChatMessage]]:
    """Read a room's history page by page, newest first, following the API's cursor."""
    pages: list[list[ChatMessage]] = []
    params: dict[str, str | int] = {"limit": page_size}
    while True:
        response = client.get(f"/api/rooms/{room.id}/messages", params=params)
        data = check(response, f"reading history of {room.name}")
        pages.append([message_from(item) for item in data["messages"]])
        if not data.get("next_cursor"):
            return pages
        params = {"limit": page_size, "before": data["next_cursor"]}


class RealtimeFeed:
    """A WebSocket connection read by a background thread into per-room message lists."""

    def __init__(self, url: str, timeout_s: float) -> None:
        self.url = url
        self.timeout_s = timeout_s
        self.messages: dict[str, list[ChatMessage]] = defaultdict(list)
        self.changed = threading.Condition()
        self.connection: ClientConnection | None = None
        self.reader: threading.Thread | None = None

    def open(self) -> None:
        self.connection = connect(self.url, open_timeout=self.timeout_s)
        ready = json.loads(self.connection.recv(timeout=self.timeout_s))
        if ready.get("type") != "ready":
            raise ChannelError(f"realtime connection did not report ready: {ready}")
        self.reader = threading.Thread(
            target=self.read_forever, args=(self.connection,), daemon=True
        )
        self.reader.start()

    def read_forever(self, connection: ClientConnection) -> None:
        try:
            for frame in connection:
                event = json.loads(frame)
                if event.get("type") == "message":
                    self.add(message_from(event["message"]))
        except ConnectionClosed:
            log.debug("realtime connection closed")

    def add(self, message: ChatMessage) -> None:
        with self.changed:
            self.messages[message.room_id].append(message)
            self.changed.notify_all()

    def wait_for(self, room_id: str, body: str, timeout_s: float) -> ChatMessage:
        def find() -> ChatMessage | None:
            return next((m for m in self.messages[room_id] if m.body == body), None)

        with self.changed:
            found = self.changed.wait_for(find, timeout_s)
        if found is None:
            raise ChannelError(
                f"no message {body!r} arrived in room {room_id} within {timeout_s:g} s"
            )
        return found

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
        if self.reader is not None:
            self.reader.join(self.timeout_s)
        self.connection = self.reader = None


@dataclass
class PendingSend:
    """A message sent while offline whose acknowledgement was lost."""

    room: Room
    body: str
    client_msg_id: str


@dataclass
class ApiSession:
    """One user logged in over the API, with a realtime feed."""

    username: str
    client: httpx.Client
    feed: RealtimeFeed
    offline: bool = False
    outbox: list[PendingSend] = field(default_factory=list)

    def rooms(self) -> list[Room]:
        data = check(self.client.get("/api/rooms"), "listing rooms")
        return [Room(str(room["id"]), str(room["name"])) for room in data["rooms"]]

    def create_room(self, name: str) -> Room:
        data = check(self.client.post("/api/rooms", json={"name": name}), f"creating room {name}")
        return Room(str(data["id"]), str(data["name"]))

    def join_room(self, room: Room) -> None:
        check(self.client.post(f"/api/rooms/{room.id}/join"), f"joining room {room.name}")

    def post(self, room: Room, body: str, client_msg_id: str) -> ChatMessage:
        payload = {"body": body, "client_msg_id": client_msg_id}
        response = self.client.post(f"/api/rooms/{room.id}/messages", json=payload)
        return message_from(check(response, f"sending to {room.name}"))

    def send(self, room: Room, body: str) -> ChatMessage | None:
        client_msg_id = uuid.uuid4().hex
        if not self.offline:
            return self.post(room, body, client_msg_id)
        # Offline on this channel means the request reaches the server but its response is lost,
        # which is the case a client's resend after reconnecting must survive.
        self.post(room, body, client_msg_id)
        self.outbox.append(PendingSend(room, body, client_msg_id))
        return None

    def history(self, room: Room, page_size: int) -> list[list[ChatMessage]]:
        return history_pages(self.client, room, page_size)

    def wait_for_message(self, room: Room, body: str, timeout_s: float) -> ChatMessage:
        return self.feed.wait_for(room.id, body, timeout_s)

    def received(self, room: Room) -> list[ChatMessage]:
        with self.feed.changed:
            return list(self.feed.messages[room.id])

    def go_offline(self) -> None:
        self.offline = True
        self.feed.close()

    def go_online(self) -> None:
        self.feed.open()
        self.offline = False
        pending, self.outbox = self.outbox, []
        for item in pending:
            self.post(item.room, item.body, item.client_msg_id)

    def close(self) -> None:
        self.feed.close()
        self.client.close()


class ApiChannel:
    """Drives the product through its public API."""

    name = "api"

    def __init__(self, base_url: str, realtime_url: str, timeout_s: float) -> None:
        self.base_url = base_url
        self.realtime_url = realtime_url
        self.timeout_s = timeout_s
        self.sessions: list[ApiSession] = []

    def log_in(self, username: str, password: str) -> ApiSession:
        client = httpx.Client(base_url=self.base_url, timeout=self.timeout_s)
        response = client.post("/api/login", json={"username": username, "password": password})
        if response.status_code == 401:
            client.close()
            raise LoginRejected(f"login of {username} rejected")
        token = check(response, f"login of {username}")["token"]
        client.headers["Authorization"] = f"Bearer {token}"
        feed = RealtimeFeed(f"{self.realtime_url}/api/ws?token={token}", self.timeout_s)
        feed.open()
        session = ApiSession(username, client, feed)
        self.sessions.append(session)
        return session

    def close(self) -> None:
        for session in self.sessions:
            session.close()
        self.sessions.clear()
