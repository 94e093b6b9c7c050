"""Records returned by storage and the JSON shapes the API and the WebSocket send for them."""

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class User:
    """A user as other users see it. The password hash stays in storage."""

    id: int
    username: str
    display_name: str

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "username": self.username, "display_name": self.display_name}


@dataclass(frozen=True, slots=True)
class Room:
    """A room, with whether the requesting user is a member."""

    id: int
    name: str
    created_at: str
    member: bool

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "member": self.member,
            "created_at": self.created_at,
        }


@dataclass(frozen=True, slots=True)
class Message:
    """A stored message. ``created_at`` is ISO 8601 in UTC."""

    id: int
    room_id: int
    author: User
    body: str
    client_msg_id: str
    created_at: str

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "room_id": self.room_id,
            "author": self.author.to_json(),
            "body": self.body,
            "client_msg_id": self.client_msg_id,
            "created_at": self.created_at,
        }
