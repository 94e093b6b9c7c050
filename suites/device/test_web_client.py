"""The Agent Chat web client on each web profile: log in, chat in realtime, fit the screen."""

from __future__ import annotations

import uuid

from harness.channels.api import ApiChannel
from harness.channels.mobile import MobileSession
from harness.pytest_plugin import TargetInfo

REALTIME_TIMEOUT_S = 10.0


def test_login_shows_general_room(alice: MobileSession) -> None:
    names = [room.name for room in alice.rooms()]
    assert "general" in names

    emulation = alice.device.profile.capabilities["goog:chromeOptions"]["mobileEmulation"]
    screen_width = alice.device.driver.execute_script("return screen.width")
    assert screen_width == emulation["deviceMetrics"]["width"]


def test_message_from_api_user_arrives(alice: MobileSession, harness_target: TargetInfo) -> None:
    room = alice.create_room(f"device-{uuid.uuid4().hex[:8]}")
    alice.select(room)
    bob_channel = ApiChannel(
        harness_target.base_url, harness_target.realtime_url, harness_target.request_timeout_s
    )
    try:
        account = harness_target.account("bob")
        bob = bob_channel.log_in(account.username, account.password)
        bob.join_room(room)
        bob.send(room, "hello from the api")
        alice.wait_for_message(room, "hello from the api", REALTIME_TIMEOUT_S)
        alice.send(room, "hello from the phone")
        bob.wait_for_message(room, "hello from the phone", REALTIME_TIMEOUT_S)
    finally:
        bob_channel.close()


def test_layout_fits_screen(alice: MobileSession) -> None:
    driver = alice.device.driver
    emulation = alice.device.profile.capabilities["goog:chromeOptions"]["mobileEmulation"]
    screen_width = emulation["deviceMetrics"]["width"]
    page_width = driver.execute_script("return document.documentElement.scrollWidth")
    assert page_width <= screen_width, "the page scrolls sideways on this screen"
