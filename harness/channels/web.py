"""The web channel: the Agent Chat web client in headless Chromium, driven by Playwright."""

from __future__ import annotations

import logging

from playwright.sync_api import Browser, Playwright, sync_playwright

from harness.channels.base import BrowserUnavailable, ChannelError
from harness.channels.browser import (
    block_non_loopback,
    launch_chromium,
    log_in_over_api,
    resolve_chromium,
)
from harness.channels.webclient import ClientSession, storage_state

__all__ = ["WebChannel", "check_web_browser"]

log = logging.getLogger(__name__)


def check_web_browser() -> None:
    """Launch and close the browser the web channel would use; raise BrowserUnavailable if not."""
    with sync_playwright() as playwright:
        launch_chromium(playwright, resolve_chromium(playwright)).close()


class WebChannel:
    """One headless Chromium; each logged-in user gets a browser context of its own."""

    name = "web"

    def __init__(self, base_url: str, realtime_url: str, timeout_s: float) -> None:
        self.base_url = base_url
        self.timeout_s = timeout_s
        self.sessions: list[ClientSession] = []
        self.playwright: Playwright = sync_playwright().start()
        try:
            self.browser: Browser = launch_chromium(
                self.playwright, resolve_chromium(self.playwright)
            )
        except BrowserUnavailable as error:
            self.playwright.stop()
            raise ChannelError(str(error)) from None

    def log_in(self, username: str, password: str) -> ClientSession:
        session_json = log_in_over_api(self.base_url, username, password, self.timeout_s)
        context = self.browser.new_context(storage_state=storage_state(self.base_url, session_json))
        block_non_loopback(context)
        session = ClientSession(
            username, context.new_page(), self.base_url, self.timeout_s, context.close
        )
        try:
            session.open()
        except Exception:
            context.close()
            raise
        self.sessions.append(session)
        return session

    def close(self) -> None:
        for session in self.sessions:
            session.close()
        self.sessions.clear()
        self.browser.close()
        self.playwright.stop()
