"""The channel interface that scenario steps use, whatever drives the product underneath."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

__all__ = [
    "BrowserUnavailable",
    "Channel",
    "ChannelError",
    "ChatMessage",
    "ChatSession",
    "LoginRejected",
    "Room",
]


class ChannelError(Exception):
    """The product did something a scenario step did not expect."""


class LoginRejected(ChannelError):
    """The product rejected a login."""


class BrowserUnavailable(Exception):
    """A browser is missing or does not start; the message says what to install."""


@dataclass(frozen=True)
class Room:
    """A chat room as a user sees it."""

    id: str
    name: str


@dataclass(frozen=True)
class ChatMessage:
    """A message as the channel observed it."""

    id: str
    room_id: str
    author: str
    body: str
    client_msg_id: str


class ChatSession(Protocol):
    """One logged-in user on one channel."""

    username: str

    def rooms(self) -> list[Room]: ...

    def create_room(self, name: str) -> Room: ...

    def join_room(self, room: Room) -> None: ...

    def send(self, room: Room, body: str) -> ChatMessage | None:
        """Send a message; returns None when it was queued because the session is offline."""
        ...

    def history(self, room: Room, page_size: int) -> list[list[ChatMessage]]:
        """Read the room's whole history page by page, newest page first."""
        ...

    def wait_for_message(self, room: Room, body: str, timeout_s: float) -> ChatMessage:
        """Wait until a message with `body` arrives in realtime; raise ChannelError on timeout."""
        ...

    def received(self, room: Room) -> list[ChatMessage]:
        """Every message delivered in realtime to this session in `room`, in arrival order."""
        ...

    def go_offline(self) -> None:
        """Lose the connection: sends are not acknowledged until the session is back online."""
        ...

    def go_online(self) -> None:
        """Restore the connection; the client resends what was not acknowledged."""
        ...

    def close(self) -> None: ...


class Channel(Protocol):
    """A way of driving the product: api, web, mobile or desktop."""

    name: str

    def log_in(self, username: str, password: str) -> ChatSession: ...

    def close(self) -> None: ...
