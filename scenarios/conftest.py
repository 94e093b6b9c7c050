"""Step definitions for the acceptance scenarios.

Steps talk only to the channel interface (harness.channels.base), so the same scenario runs on
every channel the run selects.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx
import pytest
from pytest_bdd import given, parsers, then, when

from harness.channels.base import Channel, ChatSession, LoginRejected, Room
from harness.pytest_plugin import TargetInfo

REALTIME_TIMEOUT_S = 10.0
ASSISTANT = "agent"


@dataclass
class World:
    """What a scenario has done so far: sessions per actor, rooms by their scenario name."""

    channel: Channel
    target: TargetInfo
    prefix: str
    sessions: dict[str, ChatSession] = field(default_factory=dict)
    rooms: dict[str, Room] = field(default_factory=dict)
    current_room: str = ""
    login_error: LoginRejected | None = None
    pages: list[list[str]] = field(default_factory=list)
    created_rooms: list[tuple[str, Room]] = field(default_factory=list)

    def session(self, actor: str) -> ChatSession:
        if actor not in self.sessions:
            account = self.target.account(actor)
            self.sessions[actor] = self.channel.log_in(account.username, account.password)
        return self.sessions[actor]

    def room(self) -> Room:
        return self.rooms[self.current_room]


@pytest.fixture
def world(
    chat_channel: Channel, harness_target: TargetInfo, test_data_prefix: str
) -> Iterator[World]:
    created = World(chat_channel, harness_target, test_data_prefix)
    yield created
    remove_test_data(created)


def remove_test_data(world: World) -> None:
    """Delete every room the scenario created, through the API whatever the channel.

    Runs against a shared environment must leave nothing behind, so this runs after failures too.
    """
    target = world.target
    for owner, room in world.created_rooms:
        account = target.account(owner)
        with httpx.Client(base_url=target.base_url, timeout=target.request_timeout_s) as client:
            login = client.post(
                "/api/login", json={"username": account.username, "password": account.password}
            )
            token = login.json()["token"]
            response = client.delete(
                f"/api/rooms/{room.id}", headers={"Authorization": f"Bearer {token}"}
            )
            assert response.status_code in (204, 404), f"cleanup of {room.name}: {response.text}"


@given("the Agent Chat service is up")
def service_is_up(harness_target: TargetInfo) -> None:
    response = httpx.get(
        f"{harness_target.base_url}/healthz", timeout=harness_target.request_timeout_s
    )
    assert response.status_code == 200, response.text


@when(parsers.parse("{actor} logs in"))
@given(parsers.parse("{actor} is logged in"))
def logs_in(world: World, actor: str) -> None:
    world.session(actor)


@when(parsers.parse("{actor} logs in with a wrong password"))
def logs_in_wrong(world: World, actor: str) -> None:
    username = world.target.account(actor).username
    try:
        world.channel.log_in(username, "wrong-password-for-this-test")
    except LoginRejected as error:
        world.login_error = error


@then("the login is rejected")
def login_rejected(world: World) -> None:
    assert world.login_error is not None, "the login with a wrong password was accepted"


@then(parsers.parse('{actor} sees the room "{name}"'))
def sees_room(world: World, actor: str, name: str) -> None:
    names = [room.name for room in world.session(actor).rooms()]
    assert name in names


@given(parsers.re(r'(?P<actors>\w+(?: and \w+)*) (?:is|are) in a new room "(?P<name>[^"]+)"'))
def in_new_room(world: World, actors: str, name: str) -> None:
    owner, *others = actors.split(" and ")
    room = world.session(owner).create_room(f"{world.prefix}-{name}")
    world.created_rooms.append((owner, room))
    for actor in others:
        world.session(actor).join_room(room)
    world.rooms[name] = room
    world.current_room = name


@when(parsers.parse('{actor} sends "{body}"'))
def sends(world: World, actor: str, body: str) -> None:
    world.session(actor).send(world.room(), body)


@then(parsers.parse('{actor} receives "{body}" in realtime'))
def receives(world: World, actor: str, body: str) -> None:
    world.session(actor).wait_for_message(world.room(), body, REALTIME_TIMEOUT_S)


@then(parsers.parse('{actor} receives "{body}" from the assistant'))
def receives_from_assistant(world: World, actor: str, body: str) -> None:
    message = world.session(actor).wait_for_message(world.room(), body, REALTIME_TIMEOUT_S)
    assert message.author == ASSISTANT


@given(parsers.parse("{actor} has sent {count:d} numbered messages"))
def sent_numbered(world: World, actor: str, count: int) -> None:
    session = world.session(actor)
    for number in range(1, count + 1):
        session.send(world.room(), f"message {number:03d}")


@when(parsers.parse("{actor} reads the history {size:d} messages at a time"))
def reads_history(world: World, actor: str, size: int) -> None:
    pages = world.session(actor).history(world.room(), size)
    world.pages = [[message.body for message in page] for page in pages]


@then(parsers.parse("the pages hold {sizes} messages"))
def pages_hold(world: World, sizes: str) -> None:
    expected = [int(size) for size in re.split(r",\s*|\s+and\s+", sizes)]
    assert [len(page) for page in world.pages] == expected


@then(parsers.parse("the pages together hold all {count:d} messages once, in order"))
def pages_complete(world: World, count: int) -> None:
    # Pages come newest first and each page is oldest first, so reversing the page order
    # restores the room's chronological order.
    bodies = [body for page in reversed(world.pages) for body in page]
    assert bodies == [f"message {number:03d}" for number in range(1, count + 1)]


@given(parsers.parse("{actor}'s connection drops"))
def connection_drops(world: World, actor: str) -> None:
    world.session(actor).go_offline()


@when(parsers.parse("{actor}'s connection comes back"))
def connection_back(world: World, actor: str) -> None:
    world.session(actor).go_online()


@then(parsers.parse('the room holds "{body}" exactly once'))
def room_holds_once(world: World, body: str) -> None:
    reader = next(iter(world.sessions.values()))
    pages = reader.history(world.room(), 100)
    bodies = [message.body for page in pages for message in page]
    assert bodies.count(body) == 1, bodies


@then(parsers.parse('{actor} received "{body}" exactly once'))
def received_once(world: World, actor: str, body: str) -> None:
    session = world.session(actor)
    session.wait_for_message(world.room(), body, REALTIME_TIMEOUT_S)
    # A marker sent after the resend arrives after any duplicate would have, because the
    # service delivers a room's messages to each connection in order.
    sender = next(s for name, s in world.sessions.items() if name != actor)
    marker = f"marker {world.prefix}"
    sender.send(world.room(), marker)
    session.wait_for_message(world.room(), marker, REALTIME_TIMEOUT_S)
    bodies = [message.body for message in session.received(world.room())]
    assert bodies.count(body) == 1, bodies
