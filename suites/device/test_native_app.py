"""The native chat screen in devices/apps/ on each native profile, through the fake driver."""

from __future__ import annotations

from appium.webdriver.common.appiumby import AppiumBy

from harness.devices.sessions import DeviceSession

CONTROLS = ["room-title", "message-list", "send-input", "send-button", "connection-status"]


def test_chat_screen_has_controls(native_device: DeviceSession) -> None:
    driver = native_device.driver
    for name in CONTROLS:
        element = driver.find_element(AppiumBy.ACCESSIBILITY_ID, name)
        assert element.is_displayed(), f"{name} is hidden"
    assert driver.find_element(AppiumBy.ACCESSIBILITY_ID, "send-button").is_enabled()


def test_controls_fit_screen(native_device: DeviceSession) -> None:
    driver = native_device.driver
    screen = driver.get_window_size()
    for name in CONTROLS:
        rect = driver.find_element(AppiumBy.ACCESSIBILITY_ID, name).rect
        assert rect["x"] >= 0, name
        assert rect["x"] + rect["width"] <= screen["width"], name
        assert rect["y"] >= 0, name
        assert rect["y"] + rect["height"] <= screen["height"], name
