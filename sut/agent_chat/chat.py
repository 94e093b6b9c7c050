"""Chat operations on rooms and messages, with live delivery and the assistant's replies."""

import logging
from dataclasses import dataclass, replace

from agent_chat.assistant import reply_client_msg_id, reply_to
from agent_chat.cursors import decode_cursor, encode_cursor
from agent_chat.errors import ClientMsgIdConflict, NotRoomMember, RoomNotFound
from agent_chat.models import Message, Room, User
from agent_chat.realtime import Hub
from agent_chat.storage import Database

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class MessagePage:
    """Messages oldest first, and the cursor for older ones or None when there are none."""

    messages: list[Message]
    next_cursor: str | None


class ChatService:
    """Room and message operations on behalf of an authenticated user."""

    def __init__(self, db: Database, hub: Hub, agent: User) -> None:
        self._db = db
        self._hub = hub
        self._agent = agent

    def list_rooms(self, user: User) -> list[Room]:
        return self._db.list_rooms(user.id)

    def create_room(self, user: User, name: str) -> Room:
        """Create a room with the user as member. Raises RoomNameTaken."""
        room = self._db.create_room(name, user.id)
        self._hub.subscribe(user.id, room.id)
        logger.info("user %d created room %d", user.id, room.id)
        return room

    def join_room(self, user: User, room_id: int) -> Room:
        """Add the user to the room, which does nothing for a member. Raises RoomNotFound."""
        room = self._get_room(user, room_id)
        if not room.member:
            self._db.add_member(room_id, user.id)
            self._hub.subscribe(user.id, room_id)
        return replace(room, member=True)

    def delete_room(self, user: User, room_id: int) -> None:
        """Delete a room the user created. Raises RoomNotFound or NotRoomCreator."""
        self._db.delete_room(room_id, user.id)
        self._hub.drop_room(room_id)
        logger.info("user %d deleted room %d", user.id, room_id)

    def list_messages(
        self, user: User, room_id: int, limit: int, before: str | None
    ) -> MessagePage:
        """Return the newest ``limit`` messages older than the ``before`` cursor.

        Raises RoomNotFound, NotRoomMember or InvalidCursor.
        """
        self._require_member(user, room_id)
        before_id = decode_cursor(before) if before is not None else None
        messages, has_older = self._db.list_messages(room_id, before_id, limit)
        next_cursor = encode_cursor(messages[0].id) if has_older else None
        return MessagePage(messages=messages, next_cursor=next_cursor)

    def post_message(
        self, user: User, room_id: int, body: str, client_msg_id: str
    ) -> tuple[Message, bool]:
        """Store and broadcast a message, and return it with whether it is new.

        A resend with a known client_msg_id returns the stored message and broadcasts nothing.
        Raises RoomNotFound, NotRoomMember, or ClientMsgIdConflict when the author used the id
        in another room.
        """
        self._require_member(user, room_id)
        message, created = self._db.insert_message(room_id, user.id, body, client_msg_id)
        if message.room_id != room_id:
            raise ClientMsgIdConflict(
                f"client_msg_id {client_msg_id!r} was already used in room {message.room_id}; "
                "use a new id"
            )
        if created:
            self._publish(message)
            self._reply_as_agent(message)
        return message, created

    def _get_room(self, user: User, room_id: int) -> Room:
        room = self._db.get_room(room_id, user.id)
        if room is None:
            raise RoomNotFound(f"room {room_id} not found")
        return room

    def _require_member(self, user: User, room_id: int) -> None:
        if not self._get_room(user, room_id).member:
            raise NotRoomMember(
                f"user {user.username!r} is not a member of room {room_id}; join it first"
            )

    def _publish(self, message: Message) -> None:
        self._hub.publish(message.room_id, {"type": "message", "message": message.to_json()})

    def _reply_as_agent(self, message: Message) -> None:
        if message.author.id == self._agent.id:
            return
        reply = reply_to(message.body)
        if reply is None:
            return
        stored, created = self._db.insert_message(
            message.room_id, self._agent.id, reply, reply_client_msg_id(message.id)
        )
        if created:
            self._publish(stored)
