"""The pure parts of the device suite: profiles, sets, capabilities, crash signs and records."""

from __future__ import annotations

import shutil
from fractions import Fraction
from pathlib import Path

import pytest
from selenium.common.exceptions import InvalidSessionIdException, WebDriverException

from harness.channels.base import ChatMessage
from harness.channels.mobile import match_in_order
from harness.config.environment import AppiumServer
from harness.devices.appium_server import AppiumEndpoint, remote_endpoint
from harness.devices.capabilities import build_capabilities, deep_merge
from harness.devices.plan import DevicePlan
from harness.devices.profiles import Driver, ProfileKind, select_devices
from harness.devices.records import SessionEnd, SessionRecord, read_records, write_record
from harness.devices.sessions import crash_reason
from harness.errors import UsageError
from harness.runners.device import crash_free_rate, session_values
from tests.conftest import PROJECT


@pytest.fixture
def devices_root(tmp_path: Path) -> Path:
    shutil.copytree(PROJECT / "devices", tmp_path / "devices")
    return tmp_path


def test_sets_expand_in_order_without_repeats(devices_root: Path) -> None:
    profiles = select_devices(devices_root, ("chromium-iphone", "local"), "local")
    assert [p.name for p in profiles] == ["chromium-iphone", "chromium-pixel", "fake-app"]


def test_default_set_used_without_names(devices_root: Path) -> None:
    profiles = select_devices(devices_root, (), "farm")
    assert [p.driver for p in profiles] == [Driver.UIAUTOMATOR2, Driver.XCUITEST]
    assert not any(p.driver.runs_here for p in profiles)


def test_unknown_device_names_choices(devices_root: Path) -> None:
    with pytest.raises(UsageError) as caught:
        select_devices(devices_root, ("pixel-9",), "local")
    message = caught.value.message()
    assert "unknown device profile or set 'pixel-9'" in message
    assert "chromium-pixel" in message
    assert "set farm" in message


def test_set_with_missing_profile_rejected(devices_root: Path) -> None:
    (devices_root / "devices" / "sets.toml").write_text('[sets]\nbroken = ["nokia-3310"]\n')
    with pytest.raises(UsageError) as caught:
        select_devices(devices_root, ("broken",), "local")
    assert "key sets.broken" in caught.value.message()
    assert "nokia-3310" in caught.value.message()


def test_native_profile_without_app_rejected(devices_root: Path) -> None:
    path = devices_root / "devices" / "profiles" / "fake-app.toml"
    path.write_text(path.read_text().replace('app = "agent-chat.xml"', ""))
    with pytest.raises(UsageError) as caught:
        select_devices(devices_root, ("fake-app",), "local")
    assert "fake-app.toml" in caught.value.message()
    assert "native profile needs app" in caught.value.message()


def test_bad_profile_file_name_rejected(devices_root: Path) -> None:
    (devices_root / "devices" / "profiles" / "Big_Phone.toml").write_text("")
    with pytest.raises(UsageError) as caught:
        select_devices(devices_root, ("local",), "local")
    assert "Big_Phone.toml" in caught.value.message()


def test_chromium_capabilities(devices_root: Path) -> None:
    (profile,) = select_devices(devices_root, ("chromium-pixel",), "local")
    capabilities = build_capabilities(profile, devices_root, 60, "/scratch", 45678)
    assert capabilities["platformName"] == "linux"
    assert capabilities["appium:automationName"] == "Chromium"
    assert capabilities["appium:executable"] == "/usr/bin/chromedriver"
    assert capabilities["appium:autodownloadEnabled"] is False
    assert capabilities["appium:chromedriverPort"] == 45678
    assert capabilities["appium:newCommandTimeout"] == 60
    options = capabilities["goog:chromeOptions"]
    assert options["binary"] == "/usr/bin/chromium"
    assert "--headless=new" in options["args"]
    assert any(arg.startswith("--user-data-dir=/scratch/profiles/") for arg in options["args"])
    assert options["mobileEmulation"]["deviceMetrics"]["width"] == 412


def test_each_session_gets_fresh_user_data_dir(devices_root: Path) -> None:
    (profile,) = select_devices(devices_root, ("chromium-pixel",), "local")
    first = build_capabilities(profile, devices_root, 60, "/scratch", 1)
    second = build_capabilities(profile, devices_root, 60, "/scratch", 2)
    assert first["goog:chromeOptions"]["args"] != second["goog:chromeOptions"]["args"]


def test_remote_chromium_has_no_user_data_dir(devices_root: Path) -> None:
    (profile,) = select_devices(devices_root, ("chromium-pixel",), "local")
    capabilities = build_capabilities(profile, devices_root, 60, "", 1)
    args = capabilities["goog:chromeOptions"]["args"]
    assert not any(arg.startswith("--user-data-dir") for arg in args)


def test_fake_and_farm_capabilities(devices_root: Path) -> None:
    fake, android = select_devices(devices_root, ("fake-app", "android-pixel"), "local")
    fake_caps = build_capabilities(fake, devices_root, 30, "", 1)
    assert fake_caps["platformName"] == "Fake"
    assert fake_caps["appium:app"] == str(devices_root / "devices" / "apps" / "agent-chat.xml")
    farm_caps = build_capabilities(android, devices_root, 30, "", 1)
    assert farm_caps["platformName"] == "Android"
    assert farm_caps["appium:automationName"] == "UiAutomator2"
    assert farm_caps["appium:deviceName"] == "Google Pixel 8"
    assert farm_caps["appium:platformVersion"] == "14"
    assert farm_caps["browserName"] == "Chrome"


def test_deep_merge_keeps_nested_defaults() -> None:
    merged = deep_merge({"a": {"b": 1, "c": 2}, "d": 3}, {"a": {"c": 4}, "e": 5})
    assert merged == {"a": {"b": 1, "c": 4}, "d": 3, "e": 5}


def test_driver_names_case_insensitive() -> None:
    assert Driver("uiautomator2") is Driver.UIAUTOMATOR2
    assert Driver("xcuitest") is Driver.XCUITEST
    assert ProfileKind("web") is ProfileKind.WEB


@pytest.mark.parametrize(
    ("error", "crash"),
    [
        (InvalidSessionIdException("invalid session id: session deleted"), True),
        (WebDriverException("chrome not reachable"), True),
        (WebDriverException("disconnected: Unable to receive message from renderer"), True),
        (ConnectionRefusedError("connection refused"), True),
        (WebDriverException("no such element: [data-testid=x]"), False),
        (ValueError("unrelated"), False),
    ],
)
def test_crash_reason(error: BaseException, crash: bool) -> None:
    assert bool(crash_reason(error)) is crash


def test_records_round_trip_and_rate(tmp_path: Path) -> None:
    endpoint = AppiumEndpoint("http://127.0.0.1:1", True, 60)
    plan = DevicePlan(endpoint, str(tmp_path), [], str(tmp_path))
    clean = SessionRecord("p", "s1", "t1", "a", "b", SessionEnd.CLEAN)
    crashed = SessionRecord("p", "s2", "t2", "a", "b", SessionEnd.CRASHED, "session vanished")
    for record in [clean, clean, crashed]:
        write_record(plan, record)
    records = read_records(tmp_path)
    assert records == [clean, clean, crashed]
    assert crash_free_rate(records) == Fraction(2, 3)
    assert session_values(records) == {"device.sessions": 3, "device.sessions.crashed": 1}


def test_plan_round_trip(devices_root: Path, tmp_path: Path) -> None:
    profiles = select_devices(devices_root, ("local",), "local")
    endpoint = AppiumEndpoint("http://127.0.0.1:1", True, 60, "/scratch")
    plan = DevicePlan(endpoint, str(devices_root), profiles, "")
    again = DevicePlan.read(plan.write(tmp_path / "plan.json"))
    assert again == plan
    assert again.profile("fake-app").kind is ProfileKind.NATIVE


def test_remote_endpoint_keeps_credentials_out(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRID_URL", "https://grid.example/wd/hub")
    monkeypatch.setenv("GRID_USER", "qa bot")
    monkeypatch.setenv("GRID_KEY", "k3y")
    settings = AppiumServer(
        local=False, url_env="GRID_URL", username_env="GRID_USER", access_key_env="GRID_KEY"
    )
    endpoint = remote_endpoint(settings, "staging")
    assert endpoint.url == "https://grid.example/wd/hub"
    assert "k3y" not in repr(endpoint)
    assert endpoint.authenticated_url() == "https://qa%20bot:k3y@grid.example/wd/hub"


def test_remote_endpoint_missing_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GRID_URL", raising=False)
    settings = AppiumServer(local=False, url_env="GRID_URL")
    with pytest.raises(UsageError) as caught:
        remote_endpoint(settings, "staging")
    assert "GRID_URL is not set" in caught.value.message()
    assert "appium.url_env" in caught.value.message()


def test_appium_settings_need_one_location() -> None:
    with pytest.raises(ValueError, match="either local"):
        AppiumServer(local=False)


def test_shown_messages_matched_in_order() -> None:
    def message(number: int, body: str) -> ChatMessage:
        return ChatMessage(str(number), "r", "alice", body, f"c{number}")

    stored = [message(1, "hi"), message(2, "hi"), message(3, "bye")]
    matched = match_in_order(["hi", "bye", "hi", "gone"], stored)
    assert [m.id for m in matched] == ["1", "3", "2"]
