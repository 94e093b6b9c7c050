"""Chat service rules that the HTTP API cannot reach, such as messages posted by the agent."""

from collections.abc import Callable, Iterator

import pytest
from agent_chat.config import Settings
from agent_chat.errors import NotRoomMember, RoomNotFound
from agent_chat.services import Services, build_services


@pytest.fixture
def services(make_settings: Callable[..., Settings]) -> Iterator[Services]:
    built = build_services(make_settings())
    yield built
    built.close()


def test_agent_messages_never_trigger_replies(services: Services) -> None:
    agent = services.accounts.get_user(4)
    assert agent is not None
    assert agent.username == "agent"
    services.db.add_member(1, agent.id)

    message, created = services.chat.post_message(agent, 1, "@agent ping", "own")

    assert created is True
    messages, _ = services.db.list_messages(1, None, 50)
    assert messages == [message]


def test_join_unknown_room_raises(services: Services) -> None:
    alice = services.accounts.get_user(1)
    assert alice is not None

    with pytest.raises(RoomNotFound, match="room 42 not found"):
        services.chat.join_room(alice, 42)


def test_list_messages_non_member_raises(services: Services) -> None:
    alice = services.accounts.get_user(1)
    bob = services.accounts.get_user(2)
    assert alice is not None
    assert bob is not None
    room = services.chat.create_room(alice, "private")

    with pytest.raises(NotRoomMember):
        services.chat.list_messages(bob, room.id, 10, None)


def test_get_user_caches_lookups(services: Services) -> None:
    first = services.accounts.get_user(1)

    assert services.accounts.get_user(1) is first
    assert services.accounts.get_user(999) is None
