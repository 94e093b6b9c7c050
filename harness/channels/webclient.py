"""A chat session driven through the Agent Chat web client in a browser page.

The web and desktop channels both use it; they differ only in how they get the page. Every step
clicks and types as a user would, and reads the result from the page's data-testid elements.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from playwright._impl._api_structures import LocalStorageEntry
from playwright.sync_api import Page, StorageState
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from harness.channels.base import ChannelError, ChatMessage, Room

__all__ = ["SESSION_KEY", "ClientSession", "storage_state"]

# The localStorage key under which the web client keeps its token and user.
SESSION_KEY = "agent-chat.session"

READY = "() => document.body.dataset.ready === 'true'"
ROOM_SHOWN = """(roomId) =>
  document.querySelector('[data-testid=room-title]').dataset.roomId === roomId &&
  document.querySelector('[data-testid=message-list]').dataset.historyPages !== '0'"""
ROOMS_LOADED_AFTER = """(loads) =>
  Number(document.querySelector('[data-testid=room-list]').dataset.loads || '0') > loads"""
ROOMS = """() => [...document.querySelectorAll('[data-testid=room-item]')]
  .map((item) => ({ id: item.dataset.roomId, name: item.textContent }))"""
CREATED_ROOM = """(name) => {
  const item = [...document.querySelectorAll('[data-testid=room-item]')]
    .find((candidate) => candidate.textContent === name);
  const title = document.querySelector('[data-testid=room-title]');
  return item && title.dataset.roomId === item.dataset.roomId ? item.dataset.roomId : null;
}"""
MESSAGES = """(roomId) => [...document.querySelectorAll(
    '[data-testid=message-item][data-state=sent]')]
  .filter((item) => item.dataset.roomId === roomId)
  .map((item) => ({
    id: item.dataset.messageId,
    room_id: item.dataset.roomId,
    author: item.dataset.author,
    body: item.querySelector('[data-testid=message-body]').textContent,
    client_msg_id: item.dataset.clientMsgId,
  }))"""
PENDING = """([roomId, body]) => [...document.querySelectorAll(
    '[data-testid=message-item][data-state=pending]')]
  .some((item) => item.dataset.roomId === roomId &&
    item.querySelector('[data-testid=message-body]').textContent === body)"""
HISTORY_PAGES = """(count) =>
  Number(document.querySelector('[data-testid=message-list]').dataset.historyPages) > count"""
STATUS = """([status, queued]) => {
  const shown = (testId) => document.querySelector(`[data-testid=${testId}]`).textContent;
  const sent = queued === null || shown('outbox-count') === queued;
  return shown('connection-status') === status && sent;
}"""


def storage_state(base_url: str, session_json: str) -> StorageState:
    """Return Playwright storage state that puts a logged-in session into the client's storage."""
    entry: LocalStorageEntry = {"name": SESSION_KEY, "value": session_json}
    return {"cookies": [], "origins": [{"origin": base_url, "localStorage": [entry]}]}


def message_from(data: dict[str, str]) -> ChatMessage:
    return ChatMessage(
        id=data["id"],
        room_id=data["room_id"],
        author=data["author"],
        body=data["body"],
        client_msg_id=data["client_msg_id"],
    )


@dataclass
class ClientSession:
    """One user logged in to the web client in one page; `on_close` releases the page's browser."""

    username: str
    page: Page
    base_url: str
    timeout_s: float
    on_close: Callable[[], None]
    offline: bool = False

    def wait(
        self, predicate: str, argument: object, what: str, timeout_s: float | None = None
    ) -> Any:
        """Wait until the page's `predicate` is truthy and return its value as JSON."""
        limit_s = self.timeout_s if timeout_s is None else timeout_s
        try:
            handle = self.page.wait_for_function(predicate, arg=argument, timeout=limit_s * 1000)
        except PlaywrightTimeout:
            raise ChannelError(f"{what} did not happen within {limit_s:g} s") from None
        return handle.json_value()

    def open(self, query: str = "") -> None:
        """Load the client, which resumes the injected session, and wait for the chat view."""
        self.page.goto(f"{self.base_url}/{query}")
        self.wait(READY, None, "start of the web client")
        if self.page.get_by_test_id("chat-view").is_hidden():
            raise ChannelError(f"the web client did not resume the session of {self.username}")

    def rooms(self) -> list[Room]:
        loads = int(self.page.get_by_test_id("room-list").get_attribute("data-loads") or "0")
        self.page.get_by_test_id("rooms-refresh").click()
        self.wait(ROOMS_LOADED_AFTER, loads, "reload of the room list")
        return [Room(item["id"], item["name"]) for item in self.page.evaluate(ROOMS)]

    def create_room(self, name: str) -> Room:
        self.page.get_by_test_id("new-room-name").fill(name)
        self.page.get_by_test_id("new-room-submit").click()
        room_id = self.wait(CREATED_ROOM, name, f"creation of room {name}")
        self.wait(ROOM_SHOWN, room_id, f"opening of room {name}")
        return Room(str(room_id), name)

    def join_room(self, room: Room) -> None:
        self.select_room(room)

    def select_room(self, room: Room) -> None:
        """Open the room in the client, joining it first if the user is not a member."""
        if self.page.get_by_test_id("room-title").get_attribute("data-room-id") == room.id:
            return
        item = self.page.locator(f"[data-testid=room-item][data-room-id='{room.id}']")
        if item.count() == 0:
            self.rooms()
        item.click(timeout=self.timeout_s * 1000)
        self.wait(ROOM_SHOWN, room.id, f"opening of room {room.name}")

    def messages(self, room: Room) -> list[ChatMessage]:
        return [message_from(item) for item in self.page.evaluate(MESSAGES, room.id)]

    def send(self, room: Room, body: str) -> ChatMessage | None:
        self.select_room(room)
        known = {message.id for message in self.messages(room)}
        self.page.get_by_test_id("send-input").fill(body)
        self.page.get_by_test_id("send-button").click()
        if self.offline:
            self.wait(PENDING, [room.id, body], f"queueing of {body!r} while offline")
            return None
        return self.wait_for_new(room, body, known, f"delivery of {body!r}", self.timeout_s)

    def wait_for_new(
        self, room: Room, body: str, known: set[str], what: str, timeout_s: float
    ) -> ChatMessage:
        """Wait for a sent message with `body` whose id is not in `known`."""
        predicate = f"""([roomId, body, known]) => ({MESSAGES})(roomId)
          .find((message) => message.body === body && !known.includes(message.id)) || null"""
        data = self.wait(predicate, [room.id, body, sorted(known)], what, timeout_s)
        return message_from(data)

    def history(self, room: Room, page_size: int) -> list[list[ChatMessage]]:
        self.open(f"?page_size={page_size}")
        self.select_room(room)
        pages: list[list[ChatMessage]] = []
        seen: set[str] = set()
        while True:
            page = [message for message in self.messages(room) if message.id not in seen]
            pages.append(page)
            seen.update(message.id for message in page)
            if self.page.get_by_test_id("load-older").is_hidden():
                return pages
            self.page.get_by_test_id("load-older").click()
            self.wait(HISTORY_PAGES, len(pages), f"loading of history page {len(pages) + 1}")

    def wait_for_message(self, room: Room, body: str, timeout_s: float) -> ChatMessage:
        self.select_room(room)
        what = f"arrival of {body!r} in {room.name}"
        return self.wait_for_new(room, body, set(), what, timeout_s)

    def received(self, room: Room) -> list[ChatMessage]:
        # NOTE: these are the messages the page shows, history included. The client shows each
        # message id once, so a duplicate delivery of one id is invisible here, unlike on api.
        self.select_room(room)
        return self.messages(room)

    def go_offline(self) -> None:
        self.page.context.set_offline(True)
        self.offline = True
        self.wait(STATUS, ["offline", None], "the client showing it is offline")

    def go_online(self) -> None:
        self.page.context.set_offline(False)
        self.offline = False
        self.wait(STATUS, ["online", "0"], "reconnecting and sending the outbox")

    def close(self) -> None:
        self.on_close()
