"""SQLite storage of users, rooms, memberships and messages.

One connection in WAL mode serves the whole process, guarded by a lock. Every statement is a
short indexed lookup or insert, and synchronous=NORMAL means a commit in WAL mode does not wait
for fsync. Callers on the event loop can therefore use it directly without a thread pool.
"""

import logging
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from agent_chat.errors import NotRoomCreator, RoomNameTaken, RoomNotFound
from agent_chat.models import Message, Room, User

logger = logging.getLogger(__name__)

Row = tuple[Any, ...]

SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    id INTEGER PRIMARY KEY,
    username TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS rooms (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    created_by INTEGER NOT NULL REFERENCES users(id),
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS members (
    room_id INTEGER NOT NULL REFERENCES rooms(id),
    user_id INTEGER NOT NULL REFERENCES users(id),
    PRIMARY KEY (room_id, user_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS members_by_user ON members (user_id, room_id);
CREATE TABLE IF NOT EXISTS messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    room_id INTEGER NOT NULL REFERENCES rooms(id),
    author_id INTEGER NOT NULL REFERENCES users(id),
    body TEXT NOT NULL,
    client_msg_id TEXT NOT NULL,
    created_at TEXT NOT NULL,
    UNIQUE (author_id, client_msg_id)
);
CREATE INDEX IF NOT EXISTS messages_by_room ON messages (room_id, id);
"""

_MESSAGE_SELECT = """
SELECT m.id, m.room_id, u.id, u.username, u.display_name, m.body, m.client_msg_id, m.created_at
FROM messages AS m JOIN users AS u ON u.id = m.author_id
"""


def utc_now() -> str:
    """Return the current UTC time as ISO 8601 with milliseconds, like 2024-05-01T12:00:00.000Z."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Database:
    """Storage of one service instance in one SQLite file."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.execute("PRAGMA foreign_keys=ON")
        self._conn.execute("PRAGMA busy_timeout=5000")
        self._conn.executescript(SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def _fetchone(self, sql: str, params: Row) -> Row | None:
        with self._lock:
            row: Row | None = self._conn.execute(sql, params).fetchone()
        return row

    def _fetchall(self, sql: str, params: Row) -> list[Row]:
        with self._lock:
            rows: list[Row] = self._conn.execute(sql, params).fetchall()
        return rows

    # Users

    def ensure_user(self, username: str, display_name: str, password_hash: str) -> User:
        """Insert the user unless the username exists, and return the stored user."""
        with self._transaction() as conn:
            conn.execute(
                "INSERT OR IGNORE INTO users (username, display_name, password_hash, created_at) "
                "VALUES (?, ?, ?, ?)",
                (username, display_name, password_hash, utc_now()),
            )
            row = conn.execute(
                "SELECT id, username, display_name FROM users WHERE username = ?", (username,)
            )
            return _user(row.fetchone())

    def set_password_hash(self, username: str, password_hash: str) -> None:
        with self._transaction() as conn:
            conn.execute(
                "UPDATE users SET password_hash = ? WHERE username = ?", (password_hash, username)
            )

    def get_user(self, user_id: int) -> User | None:
        row = self._fetchone(
            "SELECT id, username, display_name FROM users WHERE id = ?", (user_id,)
        )
        return _user(row) if row else None

    def get_login(self, username: str) -> tuple[User, str] | None:
        """Return the user and its password hash, or None for an unknown username."""
        row = self._fetchone(
            "SELECT id, username, display_name, password_hash FROM users WHERE username = ?",
            (username,),
        )
        return (_user(row[:3]), str(row[3])) if row else None

    # Rooms and members

    def list_rooms(self, user_id: int) -> list[Room]:
        """Return every room, sorted by id, with whether ``user_id`` is a member."""
        rows = self._fetchall(
            "SELECT r.id, r.name, r.created_at, mb.user_id IS NOT NULL FROM rooms AS r "
            "LEFT JOIN members AS mb ON mb.room_id = r.id AND mb.user_id = ? ORDER BY r.id",
            (user_id,),
        )
        return [_room(row) for row in rows]

    def get_room(self, room_id: int, user_id: int) -> Room | None:
        """Return the room with whether ``user_id`` is a member, or None for an unknown id."""
        row = self._fetchone(
            "SELECT r.id, r.name, r.created_at, mb.user_id IS NOT NULL FROM rooms AS r "
            "LEFT JOIN members AS mb ON mb.room_id = r.id AND mb.user_id = ? WHERE r.id = ?",
            (user_id, room_id),
        )
        return _room(row) if row else None

    def create_room(self, name: str, creator_id: int) -> Room:
        """Insert a room with its creator as first member. Raises RoomNameTaken for a used name."""
        created_at = utc_now()
        try:
            with self._transaction() as conn:
                cursor = conn.execute(
                    "INSERT INTO rooms (name, created_by, created_at) VALUES (?, ?, ?)",
                    (name, creator_id, created_at),
                )
                room_id = int(cursor.lastrowid or 0)
                conn.execute(
                    "INSERT INTO members (room_id, user_id) VALUES (?, ?)", (room_id, creator_id)
                )
        except sqlite3.IntegrityError:
            raise RoomNameTaken(
                f"a room named {name!r} already exists; choose another name"
            ) from None
        return Room(id=room_id, name=name, created_at=created_at, member=True)

    def ensure_room(self, name: str, creator_id: int) -> int:
        """Return the id of the room with this name, creating it first if needed."""
        with self._transaction() as conn:
            conn.execute(
                "INSERT OR IGNORE INTO rooms (name, created_by, created_at) VALUES (?, ?, ?)",
                (name, creator_id, utc_now()),
            )
            return int(conn.execute("SELECT id FROM rooms WHERE name = ?", (name,)).fetchone()[0])

    def add_member(self, room_id: int, user_id: int) -> bool:
        """Add the user to the room and return False if it already was a member."""
        with self._transaction() as conn:
            cursor = conn.execute(
                "INSERT OR IGNORE INTO members (room_id, user_id) VALUES (?, ?)", (room_id, user_id)
            )
            return cursor.rowcount == 1

    def delete_room(self, room_id: int, user_id: int) -> None:
        """Delete a room with its members and messages. Raises RoomNotFound or NotRoomCreator."""
        with self._transaction() as conn:
            row = conn.execute("SELECT created_by FROM rooms WHERE id = ?", (room_id,)).fetchone()
            if row is None:
                raise RoomNotFound(f"room {room_id} not found")
            if int(row[0]) != user_id:
                raise NotRoomCreator(f"only the creator of room {room_id} may delete it")
            conn.execute("DELETE FROM messages WHERE room_id = ?", (room_id,))
            conn.execute("DELETE FROM members WHERE room_id = ?", (room_id,))
            conn.execute("DELETE FROM rooms WHERE id = ?", (room_id,))

    def room_ids_for_user(self, user_id: int) -> list[int]:
        rows = self._fetchall("SELECT room_id FROM members WHERE user_id = ?", (user_id,))
        return [int(row[0]) for row in rows]

    # Messages

    def insert_message(
        self, room_id: int, author_id: int, body: str, client_msg_id: str
    ) -> tuple[Message, bool]:
        """Insert a message unless the author already used ``client_msg_id``.

        Returns the stored message and whether this call created it. On a resend the stored
        message is returned unchanged, even if its room or body differ from this call's.
        """
        with self._transaction() as conn:
            cursor = conn.execute(
                "INSERT OR IGNORE INTO messages "
                "(room_id, author_id, body, client_msg_id, created_at) VALUES (?, ?, ?, ?, ?)",
                (room_id, author_id, body, client_msg_id, utc_now()),
            )
            created = cursor.rowcount == 1
            row = conn.execute(
                _MESSAGE_SELECT + "WHERE m.author_id = ? AND m.client_msg_id = ?",
                (author_id, client_msg_id),
            ).fetchone()
        return _message(row), created

    def list_messages(
        self, room_id: int, before_id: int | None, limit: int
    ) -> tuple[list[Message], bool]:
        """Return the newest ``limit`` messages with an id below ``before_id``, oldest first.

        The flag is True when older messages exist beyond the returned ones.
        """
        if before_id is None:
            sql = _MESSAGE_SELECT + "WHERE m.room_id = ? ORDER BY m.id DESC LIMIT ?"
            rows = self._fetchall(sql, (room_id, limit + 1))
        else:
            sql = _MESSAGE_SELECT + "WHERE m.room_id = ? AND m.id < ? ORDER BY m.id DESC LIMIT ?"
            rows = self._fetchall(sql, (room_id, before_id, limit + 1))
        has_older = len(rows) > limit
        return [_message(row) for row in reversed(rows[:limit])], has_older


def _user(row: Row) -> User:
    return User(id=int(row[0]), username=str(row[1]), display_name=str(row[2]))


def _room(row: Row) -> Room:
    return Room(id=int(row[0]), name=str(row[1]), created_at=str(row[2]), member=bool(row[3]))


def _message(row: Row) -> Message:
    author = User(id=int(row[2]), username=str(row[3]), display_name=str(row[4]))
    return Message(
        id=int(row[0]),
        room_id=int(row[1]),
        author=author,
        body=str(row[5]),
        client_msg_id=str(row[6]),
        created_at=str(row[7]),
    )
