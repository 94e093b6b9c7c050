"""The mobile channel: the Agent Chat web client on a device profile, driven through Appium.

The channel acts through the client's controls, found by their data-testid attributes only.
Where the client has no control for an action (creating a room, paging through history), or does
not show a field (a message's author username and client id), it uses the REST API with the
same user's token, as a comment at that method explains.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

import allure
import httpx
from selenium.common.exceptions import (
    NoSuchElementException,
    StaleElementReferenceException,
    TimeoutException,
    WebDriverException,
)
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.wait import WebDriverWait

from harness.channels.api import check, history_pages, message_from
from harness.channels.base import ChannelError, ChatMessage, LoginRejected, Room
from harness.devices.plan import DevicePlan, PlanMissing
from harness.devices.profiles import ProfileKind
from harness.devices.sessions import DeviceSession, first_line, open_session

__all__ = ["MobileChannel", "MobileSession"]

log = logging.getLogger(__name__)

T = TypeVar("T")
POLL_INTERVAL_S = 0.2
HISTORY_LOOKUP_LIMIT = 100
# The web client resumes the session it finds under this localStorage key, so the harness logs
# in through the API and stores the session there; no password is typed into the page.
SESSION_KEY = "agent-chat.session"
STORE_SESSION_SCRIPT = "localStorage.setItem(arguments[0], JSON.stringify(arguments[1]));"


def testid(name: str) -> str:
    return f"[data-testid={name}]"


@dataclass
class MobileSession:
    """One user in the web client of one device session, plus an API client with the same token."""

    username: str
    device: DeviceSession
    api: httpx.Client
    base_url: str
    login_reply: dict[str, Any]
    timeout_s: float
    offline: bool = False
    outbox: list[tuple[Room, str]] = field(default_factory=list)

    @contextlib.contextmanager
    def acting(self, action: str) -> Iterator[None]:
        """Turn driver errors into ChannelError, noting crashes and attaching the screen."""
        try:
            yield
        except TimeoutException as error:
            self.attach_evidence(action)
            raise ChannelError(f"{action} timed out after {self.timeout_s:g} s") from error
        except WebDriverException as error:
            self.device.note(error)
            self.attach_evidence(action)
            raise ChannelError(f"{action} failed: {first_line(error.msg)}") from error

    def attach_evidence(self, action: str) -> None:
        """Attach a screenshot and the page source to the Allure result, if the session lives."""
        driver = self.device.driver
        with contextlib.suppress(WebDriverException):
            png = driver.get_screenshot_as_png()
            allure.attach(png, f"{action}: screenshot", allure.attachment_type.PNG)
            allure.attach(driver.page_source, f"{action}: page source", allure.attachment_type.HTML)

    def wait(self, condition: Callable[[], T | None], timeout_s: float | None = None) -> T:
        waiter = WebDriverWait(
            self.device.driver,
            timeout_s or self.timeout_s,
            poll_frequency=POLL_INTERVAL_S,
            ignored_exceptions=(NoSuchElementException, StaleElementReferenceException),
        )
        return cast(T, waiter.until(lambda _driver: condition()))

    def find(self, name: str) -> WebElement:
        return self.device.driver.find_element(By.CSS_SELECTOR, testid(name))

    def find_all(self, name: str) -> list[WebElement]:
        return list(self.device.driver.find_elements(By.CSS_SELECTOR, testid(name)))

    def open_client(self) -> None:
        """Load the client with the session stored; a reload is how it re-reads the rooms."""
        with self.acting(f"opening the web client as {self.username}"):
            driver = self.device.driver
            driver.get(f"{self.base_url}/")
            session = {"token": self.login_reply["token"], "user": self.login_reply["user"]}
            driver.execute_script(STORE_SESSION_SCRIPT, SESSION_KEY, session)
            driver.get(f"{self.base_url}/")
            self.wait(lambda: self.find("connection-status").text == "online" or None)

    def room_items(self) -> dict[str, WebElement]:
        return {item.text: item for item in self.find_all("room-item")}

    def rooms(self) -> list[Room]:
        with self.acting("reading the room list"):
            names = list(self.wait(lambda: self.room_items() or None))
        ids = {room.name: room.id for room in self.api_rooms()}
        return [Room(ids.get(name, ""), name) for name in names]

    def api_rooms(self) -> list[Room]:
        data = check(self.api.get("/api/rooms"), "listing rooms")
        return [Room(str(room["id"]), str(room["name"])) for room in data["rooms"]]

    def create_room(self, name: str) -> Room:
        # The web client has no control to create a room, so this goes through the API; the
        # reload then shows the new room in the client's list.
        data = check(self.api.post("/api/rooms", json={"name": name}), f"creating room {name}")
        self.open_client()
        return Room(str(data["id"]), str(data["name"]))

    def join_room(self, room: Room) -> None:
        self.open_client()
        self.select(room)

    def select(self, room: Room) -> None:
        """Show `room` in the client; clicking a room the user is not in joins it."""
        with self.acting(f"opening room {room.name}"):
            if self.find("room-title").text == room.name:
                return
            if room.name not in self.room_items():
                self.open_client()
            self.wait(lambda: self.room_items().get(room.name)).click()
            self.wait(lambda: self.find("room-title").text == room.name or None)

    def shown_bodies(self) -> list[WebElement]:
        return self.find_all("message-body")

    def type_and_send(self, body: str) -> None:
        # Enter submits the form as the Send button does. A click can miss the button when the
        # page is wider than the screen and scrolled sideways.
        field_ = self.find("send-input")
        field_.clear()
        field_.send_keys(body, Keys.ENTER)

    def send(self, room: Room, body: str) -> ChatMessage | None:
        self.select(room)
        with self.acting(f"sending {body!r}"):
            shown = len(self.shown_bodies())
            self.type_and_send(body)
            if self.offline:
                self.wait(lambda: self.find("chat-error").is_displayed() or None)
                self.outbox.append((room, body))
                return None
            self.wait(lambda: len(self.shown_bodies()) > shown or None)
        return self.wait_for_message(room, body, self.timeout_s)

    def history(self, room: Room, page_size: int) -> list[list[ChatMessage]]:
        # The client shows the newest 50 messages and has no paging control, so paging uses the
        # API with the same token.
        return history_pages(self.api, room, page_size)

    def wait_for_message(self, room: Room, body: str, timeout_s: float) -> ChatMessage:
        self.select(room)
        with self.acting(f"waiting for {body!r} in {room.name}"):
            self.wait(lambda: any(el.text == body for el in self.shown_bodies()) or None, timeout_s)
        return next(m for m in reversed(self.received(room)) if m.body == body)

    def received(self, room: Room) -> list[ChatMessage]:
        """Return the messages the client shows in `room`, in order, with fields from the API."""
        self.select(room)
        with self.acting(f"reading the messages of {room.name}"):
            bodies = [element.text for element in self.shown_bodies()]
        # The client shows body and display name only; the API gives the author's username and
        # the ids. Messages are matched in order, by body.
        response = self.api.get(
            f"/api/rooms/{room.id}/messages", params={"limit": HISTORY_LOOKUP_LIMIT}
        )
        stored = [message_from(item) for item in check(response, "reading messages")["messages"]]
        return match_in_order(bodies, stored)

    def go_offline(self) -> None:
        with self.acting("switching the network off"):
            self.device.cdp("Network.enable", {})
            self.device.cdp("Network.emulateNetworkConditions", network_conditions(offline=True))
        self.offline = True

    def go_online(self) -> None:
        with self.acting("switching the network on"):
            self.device.cdp("Network.emulateNetworkConditions", network_conditions(offline=False))
        self.offline = False
        # The client's outbox posts queued messages by itself once the browser is online again;
        # pressing Send again would post a second message with a new client id.
        pending, self.outbox = self.outbox, []
        for room, body in pending:
            self.wait_until_stored(room, body)
        with self.acting("checking the realtime connection"):
            online = self.find("connection-status").text == "online"
            title = self.find("room-title").text
        if not online:
            # The client does not reconnect its WebSocket either; a reload does.
            self.open_client()
            if title in self.room_items():
                self.select(Room("", title))

    def wait_until_stored(self, room: Room, body: str) -> None:
        with self.acting(f"waiting for the outbox to deliver {body!r}"):
            self.wait(lambda: self.stored(room, body) or None)

    def stored(self, room: Room, body: str) -> bool:
        """Whether the service stores a message with this body in the room's newest page."""
        response = self.api.get(f"/api/rooms/{room.id}/messages", params={"limit": 50})
        messages = check(response, f"reading {room.name}")["messages"]
        return any(message["body"] == body for message in messages)

    def close(self) -> None:
        self.device.end()
        self.api.close()


def network_conditions(*, offline: bool) -> dict[str, Any]:
    return {"offline": offline, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1}


def match_in_order(bodies: list[str], stored: list[ChatMessage]) -> list[ChatMessage]:
    """Pair each shown body with the next stored message that has it, oldest first."""
    remaining = list(stored)
    matched = []
    for body in bodies:
        found = next((message for message in remaining if message.body == body), None)
        if found is not None:
            remaining.remove(found)
            matched.append(found)
    return matched


class MobileChannel:
    """Drives the web client on a web profile of the run's device plan (default: the first)."""

    name = "mobile"

    def __init__(
        self, base_url: str, realtime_url: str, timeout_s: float, profile: str = ""
    ) -> None:
        try:
            self.plan = DevicePlan.from_environment()
        except PlanMissing as error:
            raise ChannelError(str(error)) from None
        web = [p for p in self.plan.profiles if p.kind is ProfileKind.WEB]
        if profile:
            web = [p for p in web if p.name == profile]
        if not web:
            raise ChannelError(f"the device plan has no web profile {profile or ''}".rstrip())
        self.profile = web[0]
        self.base_url = base_url
        self.timeout_s = timeout_s
        self.sessions: list[MobileSession] = []

    def log_in(self, username: str, password: str) -> MobileSession:
        api = httpx.Client(base_url=self.base_url, timeout=self.timeout_s)
        response = api.post("/api/login", json={"username": username, "password": password})
        if response.status_code == 401:
            api.close()
            raise LoginRejected(f"login of {username} rejected")
        reply = check(response, f"login of {username}")
        api.headers["Authorization"] = f"Bearer {reply['token']}"
        # pytest names the running test in PYTEST_CURRENT_TEST ("path::name (phase)").
        test = os.environ.get("PYTEST_CURRENT_TEST", "").split(" ")[0]
        device = open_session(self.plan, self.profile, f"{test or 'mobile channel'} as {username}")
        session = MobileSession(username, device, api, self.base_url, reply, self.timeout_s)
        self.sessions.append(session)
        session.open_client()
        return session

    def close(self) -> None:
        for session in self.sessions:
            session.close()
        self.sessions.clear()
