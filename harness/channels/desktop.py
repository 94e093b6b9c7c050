"""The desktop channel: the web client in a Chromium-based desktop shell, attached over CDP.

An Electron build of the client is driven the same way: the shell runs with a remote-debugging
port and Playwright attaches with connect_over_cdp. The shell here is Chromium in app mode
(--app=URL), which the channel starts per user and stops by its PID.
"""

from __future__ import annotations

import logging
import shlex
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from playwright.sync_api import Browser, Page, Playwright, sync_playwright
from playwright.sync_api import Error as PlaywrightError

from harness.channels.base import BrowserUnavailable, ChannelError
from harness.channels.browser import (
    CHROMIUM_ARGS,
    INSTALL_ADVICE,
    block_non_loopback,
    log_in_over_api,
    resolve_chromium,
)
from harness.channels.webclient import SESSION_KEY, ClientSession
from harness.process import stop_child

__all__ = ["DesktopChannel", "DesktopShell", "check_desktop_shell"]

log = logging.getLogger(__name__)

STOP_TIMEOUT_S = 10.0
POLL_INTERVAL_S = 0.05
# Chromium writes the port it chose for --remote-debugging-port=0 into this file of its profile.
PORT_FILE = "DevToolsActivePort"
# Shells started before a CDP connection counts as failed; see open_shell.
SHELL_ATTEMPTS = 2
CDP_TIMEOUT_S = 30.0


@dataclass
class DesktopShell:
    """Chromium in app mode with a DevTools port on loopback and a profile of its own."""

    executable: Path
    url: str
    process: subprocess.Popen[bytes] | None = None
    profile: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="harness-shell-")))

    def command(self) -> list[str]:
        return [
            str(self.executable),
            *CHROMIUM_ARGS,
            "--headless",
            f"--user-data-dir={self.profile}",
            "--remote-debugging-address=127.0.0.1",
            "--remote-debugging-port=0",
            f"--app={self.url}",
        ]

    def start(self, timeout_s: float) -> str:
        """Start the shell and return the CDP endpoint URL once its DevTools port is open."""
        command = self.command()
        log.info("starting desktop shell: %s", shlex.join(command))
        with (self.profile / "shell.log").open("ab") as output:
            self.process = subprocess.Popen(
                command, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
            )
        return f"http://127.0.0.1:{self.wait_for_port(timeout_s)}"

    def wait_for_port(self, timeout_s: float) -> int:
        assert self.process is not None
        port_file = self.profile / PORT_FILE
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise BrowserUnavailable(
                    f"{self.executable} exited with code {self.process.returncode} "
                    f"before opening its DevTools port; {INSTALL_ADVICE}"
                )
            lines = port_file.read_text().splitlines() if port_file.is_file() else []
            if lines and lines[0].isdigit():
                return int(lines[0])
            time.sleep(POLL_INTERVAL_S)
        raise BrowserUnavailable(
            f"{self.executable} opened no DevTools port in {timeout_s:g} s; {INSTALL_ADVICE}"
        )

    def stop(self) -> None:
        """Stop the shell by its PID (SIGTERM, then SIGKILL) and delete its profile."""
        if self.process is not None:
            stop_child(self.process, "desktop shell", STOP_TIMEOUT_S)
        shutil.rmtree(self.profile, ignore_errors=True)


def open_shell(playwright: Playwright, url: str, timeout_s: float) -> tuple[DesktopShell, Browser]:
    """Start a shell on `url` and attach to it over CDP, with a fresh shell for a second attempt.

    On a busy machine a shell now and then opens its DevTools port but never completes the CDP
    handshake. A new shell then starts normally. A second failure raises BrowserUnavailable.
    """
    problem = ""
    for attempt in range(1, SHELL_ATTEMPTS + 1):
        shell = DesktopShell(resolve_chromium(playwright), url)
        try:
            endpoint = shell.start(timeout_s)
            # Playwright's own default for the handshake is 30 s; a longer step timeout applies.
            connect_ms = max(timeout_s, CDP_TIMEOUT_S) * 1000
            return shell, playwright.chromium.connect_over_cdp(endpoint, timeout=connect_ms)
        except PlaywrightError as error:
            problem = str(error).splitlines()[0] if str(error) else type(error).__name__
            shell.stop()
            log.warning(
                "desktop shell attempt %d of %d failed: %s", attempt, SHELL_ATTEMPTS, problem
            )
        except BaseException:
            shell.stop()
            raise
    raise BrowserUnavailable(f"the desktop shell did not accept a CDP connection: {problem}")


def check_desktop_shell() -> None:
    """Start and stop a shell on about:blank; raise BrowserUnavailable if it cannot start."""
    with sync_playwright() as playwright:
        shell, browser = open_shell(playwright, "about:blank", timeout_s=60.0)
        try:
            browser.close()
        finally:
            shell.stop()


class DesktopChannel:
    """One desktop shell per logged-in user, as each user would run the app on their machine."""

    name = "desktop"

    def __init__(self, base_url: str, realtime_url: str, timeout_s: float) -> None:
        self.base_url = base_url
        self.timeout_s = timeout_s
        self.sessions: list[ClientSession] = []
        self.playwright: Playwright = sync_playwright().start()

    def log_in(self, username: str, password: str) -> ClientSession:
        session_json = log_in_over_api(self.base_url, username, password, self.timeout_s)
        try:
            shell, browser = open_shell(self.playwright, f"{self.base_url}/", self.timeout_s)
        except BrowserUnavailable as error:
            raise ChannelError(str(error)) from None

        def close() -> None:
            browser.close()
            shell.stop()

        try:
            page = self.app_page(browser)
            session = ClientSession(username, page, self.base_url, self.timeout_s, close)
            self.inject_session(page, session_json)
            session.open()
        except Exception:
            close()
            raise
        self.sessions.append(session)
        return session

    def app_page(self, browser: Browser) -> Page:
        """Return the shell's app window, with the loopback-only route installed."""
        context = browser.contexts[0]
        page = context.pages[0] if context.pages else context.wait_for_event("page")
        # The app URL is on loopback and the page's CSP allows only its own origin, so the first
        # load, which happens before Playwright attaches, cannot reach another host either.
        block_non_loopback(context)
        page.wait_for_load_state()
        return page

    def inject_session(self, page: Page, session_json: str) -> None:
        script = "([key, value]) => localStorage.setItem(key, value)"
        page.evaluate(script, [SESSION_KEY, session_json])

    def close(self) -> None:
        for session in self.sessions:
            session.close()
        self.sessions.clear()
        self.playwright.stop()
