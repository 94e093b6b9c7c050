"""Fixtures of the device suite: the device plan, one Appium session per test, crash records.

Tests ask for `web_profile` or `native_profile`, which is parametrized with the names of the
selected profiles of that kind. Every test of one profile goes to one pytest-xdist group.
A test with no selected profile of its kind is skipped.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from types import FrameType

import allure
import pytest
from selenium.common.exceptions import WebDriverException

from harness.channels.mobile import MobileChannel, MobileSession
from harness.devices.plan import DevicePlan
from harness.devices.profiles import DeviceProfile, ProfileKind
from harness.devices.sessions import DeviceSession, open_session
from harness.pytest_plugin import TargetInfo

CRASH_DRILL_VARIABLE = "HARNESS_DEVICE_CRASH_DRILL"
KIND_FIXTURES = {"web_profile": ProfileKind.WEB, "native_profile": ProfileKind.NATIVE}


# NOTE: with pytest-xdist only the controller gets the harness's SIGTERM, not the workers. Their
# sessions end when the harness deletes the sessions left on the server and stops Appium.
def raise_interrupt(signum: int, frame: FrameType | None) -> None:
    """Turn SIGTERM into KeyboardInterrupt, so pytest runs the teardown that deletes sessions."""
    raise KeyboardInterrupt


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "crash_drill: crashes a browser on purpose")
    signal.signal(signal.SIGTERM, raise_interrupt)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Drop the crash drill unless asked for: it lowers the crash-free rate on purpose."""
    if os.environ.get(CRASH_DRILL_VARIABLE) == "1":
        return
    drills = [item for item in items if item.get_closest_marker("crash_drill")]
    if drills:
        config.hook.pytest_deselected(items=drills)
        items[:] = [item for item in items if item not in drills]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    for fixture, kind in KIND_FIXTURES.items():
        if fixture in metafunc.fixturenames:
            profiles = [p for p in DevicePlan.from_environment().profiles if p.kind is kind]
            params = [pytest.param(p.name, marks=pytest.mark.xdist_group(p.name)) for p in profiles]
            metafunc.parametrize(fixture, params, ids=[p.name for p in profiles])


@pytest.fixture(scope="session")
def device_plan() -> DevicePlan:
    return DevicePlan.from_environment()


def profile_named(plan: DevicePlan, name: str) -> DeviceProfile:
    allure.dynamic.parameter("device", name)
    allure.dynamic.tag(plan.profile(name).platform)
    return plan.profile(name)


@pytest.fixture
def native_device(
    device_plan: DevicePlan, native_profile: str, request: pytest.FixtureRequest
) -> Iterator[DeviceSession]:
    """An Appium session of the native profile, ended and recorded however the test ends."""
    profile = profile_named(device_plan, native_profile)
    session = open_session(device_plan, profile, request.node.nodeid)
    request.node.device_session = session
    try:
        yield session
    finally:
        session.end()


@pytest.fixture
def web_channel(
    device_plan: DevicePlan, web_profile: str, harness_target: TargetInfo
) -> Iterator[MobileChannel]:
    """The mobile channel on the web profile; every session it opened ends in teardown."""
    profile_named(device_plan, web_profile)
    channel = MobileChannel(
        harness_target.base_url,
        harness_target.realtime_url,
        harness_target.request_timeout_s,
        profile=web_profile,
    )
    try:
        yield channel
    finally:
        channel.close()


@pytest.fixture
def alice(
    web_channel: MobileChannel, harness_target: TargetInfo, request: pytest.FixtureRequest
) -> MobileSession:
    account = harness_target.account("alice")
    session = web_channel.log_in(account.username, account.password)
    request.node.device_session = session.device
    return session


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> pytest.TestReport:
    """Attach a screenshot and the page source of the test's session when the test failed."""
    report: pytest.TestReport = yield
    session: DeviceSession | None = getattr(item, "device_session", None)
    if report.failed and session is not None:
        if call.excinfo is not None:
            session.note(call.excinfo.value)
        attach_screen(session)
    return report


def attach_screen(session: DeviceSession) -> None:
    try:
        allure.attach(
            session.driver.get_screenshot_as_png(), "screenshot", allure.attachment_type.PNG
        )
        allure.attach(session.page_source(), "page source", allure.attachment_type.XML)
    except WebDriverException as error:
        session.note(error)
