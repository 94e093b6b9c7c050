"""Chromium for the browser channels and the e2e suite: find it, launch it, keep it on loopback."""

from __future__ import annotations

import ipaddress
import json
import logging
import os
import shutil
from pathlib import Path
from urllib.parse import urlsplit

import httpx
from playwright.sync_api import Browser, BrowserContext, Error, Playwright, Route

from harness.channels.base import BrowserUnavailable, ChannelError, LoginRejected

__all__ = [
    "CHROMIUM_ARGS",
    "CHROMIUM_VARIABLE",
    "INSTALL_ADVICE",
    "BrowserUnavailable",
    "block_non_loopback",
    "is_loopback_url",
    "launch_chromium",
    "log_in_over_api",
    "resolve_chromium",
]

log = logging.getLogger(__name__)

CHROMIUM_VARIABLE = "HARNESS_CHROMIUM"
SYSTEM_CHROMIUM = Path("/usr/bin/chromium")
INSTALL_ADVICE = (
    "install Chromium with: apt-get install -y chromium (Debian, as root), "
    "or: python -m playwright install chromium, or set HARNESS_CHROMIUM to a Chromium executable"
)

# Flags for every Chromium the harness starts: no sandbox (it runs as root in CI), no GPU, and no
# traffic of its own (updates, sync, QUIC) that could leave the machine.
CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
)

LOOPBACK_NAMES = {"localhost", "localhost.localdomain"}
LOCAL_SCHEMES = {"data", "blob", "about"}


def resolve_chromium(playwright: Playwright, configured: str = "") -> Path:
    """Find the Chromium executable to launch.

    Order: the HARNESS_CHROMIUM variable, then `configured` (from a config file), then
    Playwright's own Chromium build if it is installed, then Debian's /usr/bin/chromium.
    """
    explicit = os.environ.get(CHROMIUM_VARIABLE, "") or configured
    if explicit:
        found = shutil.which(explicit)
        if found is None:
            source = CHROMIUM_VARIABLE if os.environ.get(CHROMIUM_VARIABLE) else "the config file"
            raise BrowserUnavailable(
                f"{explicit} (from {source}) is not an executable file; {INSTALL_ADVICE}"
            )
        return Path(found)
    bundled = Path(playwright.chromium.executable_path)
    if bundled.is_file():
        return bundled
    if SYSTEM_CHROMIUM.is_file():
        return SYSTEM_CHROMIUM
    raise BrowserUnavailable(f"no Chromium found; {INSTALL_ADVICE}")


def launch_chromium(playwright: Playwright, executable: Path) -> Browser:
    """Launch headless Chromium with CHROMIUM_ARGS and a fresh profile that Playwright deletes."""
    log.info("launching %s headless", executable)
    try:
        return playwright.chromium.launch(
            executable_path=str(executable), headless=True, args=list(CHROMIUM_ARGS)
        )
    except Error as error:
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else repr(error)
        raise BrowserUnavailable(
            f"{executable} did not start: {first_line}; {INSTALL_ADVICE}"
        ) from None


def is_loopback_url(url: str) -> bool:
    """Tell whether a request stays on this machine: a loopback host, or a data:/blob: URL."""
    parts = urlsplit(url)
    if parts.scheme in LOCAL_SCHEMES:
        return True
    host = (parts.hostname or "").lower()
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def abort_unless_loopback(route: Route) -> None:
    if is_loopback_url(route.request.url):
        route.continue_()
        return
    log.warning("blocked a request to %s: only loopback is allowed", route.request.url)
    route.abort("blockedbyclient")


def block_non_loopback(context: BrowserContext) -> None:
    """Abort every request of the context's pages that would leave loopback."""
    context.route("**/*", abort_unless_loopback)


def log_in_over_api(base_url: str, username: str, password: str, timeout_s: float) -> str:
    """Log in through POST /api/login and return the session as the web client stores it.

    The browser channels inject this session instead of typing the password, so no password
    reaches a page, a screenshot or a trace.
    """
    response = httpx.post(
        f"{base_url}/api/login",
        json={"username": username, "password": password},
        timeout=timeout_s,
    )
    if response.status_code == 401:
        raise LoginRejected(f"login of {username} rejected")
    if response.is_error:
        raise ChannelError(f"login of {username} failed: HTTP {response.status_code}")
    data = response.json()
    return json.dumps({"token": data["token"], "user": data["user"]})
