"""Critical flows of the Agent Chat web client in a real browser, once per browser project."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable

import httpx
from conftest import ClientFactory
from playwright.sync_api import Locator, Page, expect

ASSISTANT = "agent"


def create_room(page: Page, name: str) -> str:
    page.get_by_test_id("new-room-name").fill(name)
    page.get_by_test_id("new-room-submit").click()
    item = page.get_by_test_id("room-item").filter(has_text=name)
    expect(item).to_have_class("selected")
    room_id = item.get_attribute("data-room-id")
    assert room_id is not None
    return room_id


def open_room(page: Page, room_id: str) -> None:
    """Open a room, reloading the room list first, because it may have been created elsewhere."""
    page.get_by_test_id("rooms-refresh").click()
    page.locator(f"[data-testid=room-item][data-room-id='{room_id}']").click()
    expect(page.get_by_test_id("room-title")).to_have_attribute("data-room-id", room_id)


def send(page: Page, body: str) -> None:
    page.get_by_test_id("send-input").fill(body)
    page.get_by_test_id("send-button").click()


def sent_messages(page: Page, body: str) -> Locator:
    return page.locator("[data-testid=message-item][data-state=sent]").filter(
        has=page.get_by_test_id("message-body").get_by_text(body, exact=True)
    )


def test_login_with_injected_session(client: ClientFactory) -> None:
    page = client.open("alice")

    expect(page.get_by_test_id("chat-view")).to_be_visible()
    expect(page.get_by_test_id("current-user")).to_have_attribute("data-username", "alice")
    expect(page.get_by_test_id("room-item").filter(has_text="general")).to_be_visible()
    expect(page.get_by_test_id("connection-status")).to_have_text("online")

    page.get_by_test_id("logout-button").click()
    expect(page.get_by_test_id("login-view")).to_be_visible()
    page.get_by_test_id("login-username").fill("alice")
    page.get_by_test_id("login-password").fill("wrong-password-for-this-test")
    page.get_by_test_id("login-submit").click()
    expect(page.get_by_test_id("login-error")).to_be_visible()
    expect(page.get_by_test_id("chat-view")).to_be_hidden()


def test_realtime_between_two_contexts(
    client: ClientFactory, unique: Callable[[str], str]
) -> None:
    alice = client.open("alice")
    bob = client.open("bob")
    room_id = create_room(alice, unique("lobby"))
    open_room(bob, room_id)

    send(alice, "hello bob")
    expect(sent_messages(bob, "hello bob")).to_have_count(1)
    expect(sent_messages(bob, "hello bob")).to_have_attribute("data-delivery", "realtime")

    send(bob, "hi alice")
    expect(sent_messages(alice, "hi alice")).to_have_count(1)
    expect(sent_messages(alice, "hi alice")).to_have_attribute("data-author", "bob")


def test_assistant_replies(client: ClientFactory, unique: Callable[[str], str]) -> None:
    alice = client.open("alice")
    create_room(alice, unique("help"))

    send(alice, "@agent ping")

    reply = sent_messages(alice, "pong")
    expect(reply).to_have_count(1)
    expect(reply).to_have_attribute("data-author", ASSISTANT)


def test_offline_outbox_delivered_once(
    client: ClientFactory, unique: Callable[[str], str]
) -> None:
    alice = client.open("alice")
    alice.evaluate("() => navigator.serviceWorker.ready")
    room_id = create_room(alice, unique("outbox"))
    bob = client.open("bob")
    open_room(bob, room_id)

    alice.context.set_offline(True)
    expect(alice.get_by_test_id("connection-status")).to_have_text("offline")
    for body in ("queued one", "queued two"):
        send(alice, body)
    expect(alice.get_by_test_id("outbox-count")).to_have_text("2")

    # A reload while offline is served by the service worker from its cache. The query string
    # makes the URL one the browser has never loaded, so its HTTP cache cannot answer instead.
    alice.goto(f"{client.target.base_url}/?offline-reload={uuid.uuid4().hex}")
    alice.wait_for_function("() => document.body.dataset.ready === 'true'")
    expect(alice.get_by_test_id("outbox-count")).to_have_text("2")

    alice.context.set_offline(False)
    expect(alice.get_by_test_id("outbox-count")).to_have_text("0")
    expect(alice.get_by_test_id("connection-status")).to_have_text("online")

    for body in ("queued one", "queued two"):
        expect(sent_messages(bob, body)).to_have_count(1)
    bob.goto(f"{client.target.base_url}/?after-reconnect={uuid.uuid4().hex}")
    open_room(bob, room_id)
    bodies = bob.locator("[data-testid=message-item][data-state=sent] [data-testid=message-body]")
    expect(bodies).to_have_text(["queued one", "queued two"])
    assert history_bodies(client, room_id) == ["queued one", "queued two"]


def history_bodies(client: ClientFactory, room_id: str) -> list[str]:
    """Read the room's stored messages over the API, outside the browser and its caches."""
    session = json.loads(client.session_json("bob"))
    response = httpx.get(
        f"{client.target.base_url}/api/rooms/{room_id}/messages",
        params={"limit": 50},
        headers={"Authorization": f"Bearer {session['token']}", "Cache-Control": "no-cache"},
    )
    response.raise_for_status()
    return [message["body"] for message in response.json()["messages"]]


def test_installable_pwa(client: ClientFactory) -> None:
    page = client.open("alice")

    scope = page.evaluate("async () => (await navigator.serviceWorker.ready).scope")
    assert scope == f"{client.target.base_url}/"
    manifest_url = page.locator("link[rel=manifest]").get_attribute("href")
    assert manifest_url == "/manifest.webmanifest"
    manifest = page.request.get(f"{client.target.base_url}{manifest_url}").json()
    assert manifest["display"] == "standalone"
    assert manifest["start_url"] == "/"
    assert {icon["sizes"] for icon in manifest["icons"]} >= {"192x192", "512x512"}

    page.reload()
    controlled = page.evaluate("() => navigator.serviceWorker.controller !== null")
    assert controlled, "the service worker does not control the page after a reload"
