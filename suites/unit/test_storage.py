"""Storage: schema, seeding, rooms, idempotent messages and history pages, in a real SQLite file."""

import re
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from agent_chat.errors import RoomNameTaken
from agent_chat.passwords import UNUSABLE_PASSWORD, verify_password
from agent_chat.seed import GENERAL_ROOM, seed_database
from agent_chat.storage import Database, utc_now


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(tmp_path / "nested" / "chat.db")
    yield database
    database.close()


def make_user(db: Database, username: str) -> int:
    return db.ensure_user(username, username.title(), UNUSABLE_PASSWORD).id


def test_database_uses_wal_mode(db: Database) -> None:
    with sqlite3.connect(db.path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_utc_now_is_iso_utc() -> None:
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", utc_now())


def test_ensure_user_is_idempotent(db: Database) -> None:
    first = db.ensure_user("dave", "Dave", "hash-1")
    second = db.ensure_user("dave", "Other name", "hash-2")

    assert second == first
    assert db.get_login("dave") == (first, "hash-1")
    assert db.get_user(first.id) == first


def test_unknown_user_lookups_return_none(db: Database) -> None:
    assert db.get_user(12345) is None
    assert db.get_login("nobody") is None


def test_seed_creates_users_room_and_agent(db: Database) -> None:
    agent = seed_database(db, "secret")

    assert agent.username == "agent"
    assert agent.display_name == "Agent"
    alice = db.get_login("alice")
    assert alice is not None
    assert verify_password("secret", alice[1])
    rooms = db.list_rooms(alice[0].id)
    assert [room.name for room in rooms] == [GENERAL_ROOM]
    assert rooms[0].member is True
    assert db.get_login("agent") == (agent, UNUSABLE_PASSWORD)
    assert db.list_rooms(agent.id)[0].member is False


def test_seed_twice_keeps_one_copy(tmp_path: Path) -> None:
    first = Database(tmp_path / "chat.db")
    seed_database(first, "old")
    first.close()

    second = Database(tmp_path / "chat.db")
    seed_database(second, "new")
    alice = second.get_login("alice")
    rooms = second.list_rooms(1)
    second.close()

    assert len(rooms) == 1
    assert alice is not None
    assert verify_password("new", alice[1])
    assert not verify_password("old", alice[1])


def test_seed_without_password_is_unusable(db: Database, caplog: pytest.LogCaptureFixture) -> None:
    seed_database(db, None)

    assert db.get_login("bob") is not None
    assert db.get_login("bob")[1] == UNUSABLE_PASSWORD  # type: ignore[index]
    assert "set AGENT_CHAT_SEED_PASSWORD" in caplog.text


def test_create_room_adds_creator(db: Database) -> None:
    alice = make_user(db, "alice")
    bob = make_user(db, "bob")

    room = db.create_room("ops", alice)

    assert room.member is True
    assert db.get_room(room.id, alice) == room
    assert db.get_room(room.id, bob) is not None
    assert db.get_room(room.id, bob).member is False  # type: ignore[union-attr]
    assert db.room_ids_for_user(alice) == [room.id]
    assert db.room_ids_for_user(bob) == []


def test_create_room_rejects_duplicate_name(db: Database) -> None:
    alice = make_user(db, "alice")
    db.create_room("ops", alice)

    with pytest.raises(RoomNameTaken, match="'ops' already exists"):
        db.create_room("ops", alice)
    assert len(db.list_rooms(alice)) == 1


def test_get_room_unknown_returns_none(db: Database) -> None:
    assert db.get_room(99, make_user(db, "alice")) is None


def test_ensure_room_is_idempotent(db: Database) -> None:
    alice = make_user(db, "alice")

    assert db.ensure_room("lobby", alice) == db.ensure_room("lobby", alice)


def test_add_member_reports_new_membership(db: Database) -> None:
    alice = make_user(db, "alice")
    bob = make_user(db, "bob")
    room = db.create_room("ops", alice)

    assert db.add_member(room.id, bob) is True
    assert db.add_member(room.id, bob) is False
    assert db.get_room(room.id, bob).member is True  # type: ignore[union-attr]


def test_list_rooms_sorted_with_member_flags(db: Database) -> None:
    alice = make_user(db, "alice")
    bob = make_user(db, "bob")
    first = db.create_room("zeta", alice)
    second = db.create_room("alpha", bob)

    rooms = db.list_rooms(alice)

    assert [room.id for room in rooms] == [first.id, second.id]
    assert [room.member for room in rooms] == [True, False]


def test_insert_message_is_idempotent(db: Database) -> None:
    alice = make_user(db, "alice")
    room = db.create_room("ops", alice)

    first, created_first = db.insert_message(room.id, alice, "hello", "c-1")
    again, created_again = db.insert_message(room.id, alice, "changed body", "c-1")

    assert created_first is True
    assert created_again is False
    assert again == first
    assert again.body == "hello"
    assert db.list_messages(room.id, None, 50) == ([first], False)


def test_client_msg_id_is_unique_per_author(db: Database) -> None:
    alice = make_user(db, "alice")
    bob = make_user(db, "bob")
    room = db.create_room("ops", alice)
    db.add_member(room.id, bob)

    from_alice, alice_created = db.insert_message(room.id, alice, "a", "same")
    from_bob, bob_created = db.insert_message(room.id, bob, "b", "same")

    assert alice_created is True
    assert bob_created is True
    assert from_alice.id != from_bob.id
    assert from_bob.author.username == "bob"


def test_list_messages_pages_from_newest(db: Database) -> None:
    alice = make_user(db, "alice")
    room = db.create_room("ops", alice)
    ids = [db.insert_message(room.id, alice, f"m{i}", f"c{i}")[0].id for i in range(7)]

    newest, more_after_newest = db.list_messages(room.id, None, 3)
    middle, more_after_middle = db.list_messages(room.id, newest[0].id, 3)
    oldest, more_after_oldest = db.list_messages(room.id, middle[0].id, 3)

    assert [m.id for m in newest] == ids[4:7]
    assert more_after_newest is True
    assert [m.id for m in middle] == ids[1:4]
    assert more_after_middle is True
    assert [m.id for m in oldest] == ids[0:1]
    assert more_after_oldest is False


def test_list_messages_exact_page_has_no_more(db: Database) -> None:
    alice = make_user(db, "alice")
    room = db.create_room("ops", alice)
    for i in range(3):
        db.insert_message(room.id, alice, f"m{i}", f"c{i}")

    messages, has_older = db.list_messages(room.id, None, 3)

    assert len(messages) == 3
    assert has_older is False


def test_list_messages_only_from_room(db: Database) -> None:
    alice = make_user(db, "alice")
    ops = db.create_room("ops", alice)
    dev = db.create_room("dev", alice)
    db.insert_message(ops.id, alice, "in ops", "c1")
    db.insert_message(dev.id, alice, "in dev", "c2")

    messages, _ = db.list_messages(dev.id, None, 50)

    assert [m.body for m in messages] == ["in dev"]


def test_concurrent_inserts_from_threads(db: Database) -> None:
    alice = make_user(db, "alice")
    room = db.create_room("ops", alice)

    def insert_batch(thread: int) -> None:
        for i in range(25):
            db.insert_message(room.id, alice, "x", f"t{thread}-{i}")

    threads = [threading.Thread(target=insert_batch, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    messages, has_older = db.list_messages(room.id, None, 200)
    assert len(messages) == 200
    assert has_older is False
    assert len({m.client_msg_id for m in messages}) == 200


def test_connection_usable_after_rollback(db: Database) -> None:
    alice = make_user(db, "alice")
    db.create_room("ops", alice)

    with pytest.raises(RoomNameTaken):
        db.create_room("ops", alice)

    # The connection must be usable again after the rollback.
    assert db.create_room("dev", alice).name == "dev"
