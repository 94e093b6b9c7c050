"""In-process fan-out of chat events to WebSocket connections.

Each connection has a bounded send queue drained by its own task, so publishing never waits for a
socket. A client that falls a full queue behind, or whose send takes longer than SEND_TIMEOUT_S,
is disconnected with close code 1013 (try again later) instead of slowing the others down.
"""

import asyncio
import json
import logging
from collections.abc import Iterable
from typing import Any

from starlette.websockets import WebSocket, WebSocketDisconnect

from agent_chat.models import User

logger = logging.getLogger(__name__)

SEND_QUEUE_SIZE = 256
SEND_TIMEOUT_S = 10.0
CLOSE_TRY_AGAIN_LATER = 1013
TOO_SLOW = "client is too slow to receive events"


def encode_event(event: dict[str, Any]) -> str:
    return json.dumps(event, separators=(",", ":"), ensure_ascii=False)


class Connection:
    """One authenticated WebSocket with its send queue."""

    def __init__(self, websocket: WebSocket, user: User, queue_size: int = SEND_QUEUE_SIZE) -> None:
        self.websocket = websocket
        self.user = user
        self.room_ids: set[int] = set()
        self.too_slow = False
        self._queue: asyncio.Queue[str] = asyncio.Queue(maxsize=queue_size)
        self._sender: asyncio.Task[None] | None = None

    def enqueue(self, text: str) -> None:
        """Queue a text frame without waiting. On overflow, stop sending and end the connection."""
        if self.too_slow:
            return
        try:
            self._queue.put_nowait(text)
        except asyncio.QueueFull:
            logger.warning(
                "closing WebSocket of user %d: %d events are queued unsent",
                self.user.id,
                self._queue.qsize(),
            )
            self._stop_sending()

    def _stop_sending(self) -> None:
        self.too_slow = True
        while not self._queue.empty():
            self._queue.get_nowait()
        if self._sender is not None:
            self._sender.cancel()

    async def serve(self) -> None:
        """Run the sender and the receiver until the client disconnects or is too slow.

        A client that is too slow gets close code 1013 (try again later).
        """
        self._sender = asyncio.create_task(self._send_loop())
        tasks = {self._sender, asyncio.create_task(self._receive_loop())}
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            # The tasks are cancelled but not awaited. Awaiting them here would delay a
            # cancellation of this task, which the caller's cancel scope may not expect.
            for task in tasks:
                task.cancel()
        if self.too_slow:
            await self._close(CLOSE_TRY_AGAIN_LATER, TOO_SLOW)

    async def _send_loop(self) -> None:
        while True:
            text = await self._queue.get()
            try:
                await asyncio.wait_for(self.websocket.send_text(text), SEND_TIMEOUT_S)
            except TimeoutError:
                logger.warning(
                    "closing WebSocket of user %d: a send timed out after %.0f s",
                    self.user.id,
                    SEND_TIMEOUT_S,
                )
                self.too_slow = True
                return
            except (WebSocketDisconnect, RuntimeError, OSError):
                return  # The client is gone, and the receiver gets the disconnect.

    async def _close(self, code: int, reason: str) -> None:
        try:
            await asyncio.wait_for(self.websocket.close(code=code, reason=reason), SEND_TIMEOUT_S)
        except (TimeoutError, RuntimeError, OSError):
            logger.info(
                "WebSocket of user %d could not be closed cleanly; the server drops it",
                self.user.id,
            )

    async def _receive_loop(self) -> None:
        while True:
            message = await self.websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
            self._handle_frame(message.get("text"))

    def _handle_frame(self, text: str | None) -> None:
        try:
            event = json.loads(text) if text is not None else None
        except json.JSONDecodeError:
            event = None
        if isinstance(event, dict) and event.get("type") == "ping":
            self.enqueue(encode_event({"type": "pong"}))
        else:
            self.enqueue(
                encode_event(
                    {"type": "error", "detail": 'unsupported frame; send the text {"type": "ping"}'}
                )
            )


class Hub:
    """Connections by room and by user. Call it only from the event loop thread."""

    def __init__(self) -> None:
        self._rooms: dict[int, set[Connection]] = {}
        self._users: dict[int, set[Connection]] = {}

    @property
    def connection_count(self) -> int:
        return sum(len(connections) for connections in self._users.values())

    def register(self, connection: Connection, room_ids: Iterable[int]) -> None:
        self._users.setdefault(connection.user.id, set()).add(connection)
        for room_id in room_ids:
            self._add(room_id, connection)

    def unregister(self, connection: Connection) -> None:
        _discard(self._users, connection.user.id, connection)
        for room_id in connection.room_ids:
            _discard(self._rooms, room_id, connection)
        connection.room_ids.clear()

    def subscribe(self, user_id: int, room_id: int) -> None:
        """Deliver the room's events to every open connection of the user, such as after a join."""
        for connection in self._users.get(user_id, ()):
            self._add(room_id, connection)

    def drop_room(self, room_id: int) -> None:
        """Forget a deleted room, so its subscribers stop being tracked."""
        for connection in self._rooms.pop(room_id, set()):
            connection.room_ids.discard(room_id)

    def publish(self, room_id: int, event: dict[str, Any]) -> int:
        """Queue an event for every connection subscribed to the room and return how many got it."""
        connections = self._rooms.get(room_id)
        if not connections:
            return 0
        text = encode_event(event)  # Encoded once for all recipients.
        for connection in tuple(connections):
            connection.enqueue(text)
        return len(connections)

    def _add(self, room_id: int, connection: Connection) -> None:
        self._rooms.setdefault(room_id, set()).add(connection)
        connection.room_ids.add(room_id)


def _discard(index: dict[int, set[Connection]], key: int, connection: Connection) -> None:
    connections = index.get(key)
    if connections is None:
        return
    connections.discard(connection)
    if not connections:
        del index[key]
