"""Appium sessions of one device profile: open, end, and record whether each ended cleanly.

A session that ends abnormally counts as a crash: the browser or app crashed, the session
vanished from the server, or the server dropped the connection. Each session, clean or not,
is recorded as one JSON line in the plan's sessions folder, one file per process, which the
device runner turns into the crash-free rate.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import urllib3.exceptions
from appium import webdriver
from appium.options.common.base import AppiumOptions
from selenium.common.exceptions import InvalidSessionIdException, WebDriverException

from harness.devices.capabilities import build_capabilities
from harness.devices.plan import DevicePlan
from harness.devices.profiles import DeviceProfile
from harness.devices.records import SessionEnd, SessionRecord, write_record
from harness.runs import utc_now
from harness.target import pick_free_port

__all__ = ["DeviceSession", "crash_reason", "open_session"]

log = logging.getLogger(__name__)

# Words in WebDriver error messages that mean the browser or the session is gone, as Chromium's
# chromedriver and Appium 3 word them.
CRASH_MARKERS = (
    "invalid session id",
    "session deleted",
    "chrome not reachable",
    "disconnected",
    "crashed",
    "no such session",
)
CDP_TIMEOUT_S = 30.0


def crash_reason(error: BaseException) -> str:
    """Return why `error` shows the session ended abnormally, or "" when it does not."""
    if isinstance(error, InvalidSessionIdException):
        return f"session vanished: {first_line(error.msg)}"
    if isinstance(error, urllib3.exceptions.HTTPError | httpx.TransportError | ConnectionError):
        return f"the Appium server dropped the connection: {error}"
    if isinstance(error, WebDriverException):
        message = first_line(error.msg)
        if any(marker in message.lower() for marker in CRASH_MARKERS):
            return message
    return ""


def first_line(text: str | None) -> str:
    return (text or "").strip().splitlines()[0] if (text or "").strip() else ""


@dataclass
class DeviceSession:
    """A live Appium session of one profile, and the first sign of a crash seen in it."""

    plan: DevicePlan
    profile: DeviceProfile
    driver: webdriver.Remote
    test: str
    started_at: str
    crash: str = ""

    @property
    def session_id(self) -> str:
        return str(self.driver.session_id)

    def note(self, error: BaseException) -> None:
        """Remember the first error that shows a crash; other errors are the test's business."""
        reason = crash_reason(error)
        if reason and not self.crash:
            log.warning("session %s of %s crashed: %s", self.session_id, self.profile.name, reason)
            self.crash = reason

    def page_source(self) -> str:
        """Return the page or screen source; an error that shows a crash is noted and raised."""
        try:
            return str(self.driver.page_source)
        except WebDriverException as error:
            self.note(error)
            raise

    def cdp(self, command: str, params: dict[str, Any]) -> dict[str, Any]:
        """Send a Chrome DevTools Protocol command through the Chromium driver."""
        url = f"{self.plan.endpoint.authenticated_url()}/session/{self.session_id}/goog/cdp/execute"
        response = httpx.post(url, json={"cmd": command, "params": params}, timeout=CDP_TIMEOUT_S)
        if response.is_error:
            error = WebDriverException(response.json().get("value", {}).get("message", ""))
            self.note(error)
            raise error
        value: dict[str, Any] = response.json().get("value") or {}
        return value

    def end(self) -> SessionRecord:
        """Probe and delete the session, and record how it ended.

        Driver and connection errors are noted as a crash or logged, not raised, so a teardown
        that calls this always gets to delete the other sessions too.
        """
        try:
            self.driver.page_source  # noqa: B018 - a cheap command every driver supports
        except (WebDriverException, urllib3.exceptions.HTTPError, OSError) as error:
            self.note(error)
        try:
            self.driver.quit()
        except (WebDriverException, urllib3.exceptions.HTTPError, OSError) as error:
            self.note(error)
            log.warning("deleting session %s failed: %s", self.session_id, error)
        end = SessionEnd.CRASHED if self.crash else SessionEnd.CLEAN
        record = SessionRecord(
            self.profile.name,
            self.session_id,
            self.test,
            self.started_at,
            utc_now(),
            end,
            self.crash,
        )
        write_record(self.plan, record)
        return record


def open_session(plan: DevicePlan, profile: DeviceProfile, test: str) -> DeviceSession:
    """Start an Appium session of `profile`; raises WebDriverException when Appium rejects it."""
    capabilities = build_capabilities(
        profile,
        Path(plan.root),
        plan.endpoint.new_command_timeout_s,
        plan.endpoint.scratch_dir,
        pick_free_port("127.0.0.1"),
    )
    options = AppiumOptions()
    options.load_capabilities(capabilities)
    started_at = utc_now()
    driver = webdriver.Remote(plan.endpoint.authenticated_url(), options=options)
    log.info("session %s of %s started for %s", driver.session_id, profile.name, test)
    return DeviceSession(plan, profile, driver, test, started_at)
