"""W3C capabilities for a device profile: the harness's defaults with the profile's own on top."""

from __future__ import annotations

import copy
import uuid
from pathlib import Path
from typing import Any

from harness.channels.browser import CHROMIUM_ARGS as BROWSER_ARGS
from harness.devices.doctor import CHROMEDRIVER, CHROMIUM
from harness.devices.profiles import DEVICES_DIR, DeviceProfile, Driver

__all__ = ["CHROMIUM_ARGS", "build_capabilities", "deep_merge"]

# The flags of every Chromium the harness starts, headless, since ChromeDriver gets no
# Playwright option for it.
CHROMIUM_ARGS = ["--headless=new", *BROWSER_ARGS]
PLATFORM_NAMES = {
    # The Chromium driver automates a desktop browser, so the platform is the host's even when
    # the profile emulates a phone.
    Driver.CHROMIUM: "linux",
    Driver.FAKE: "Fake",
    Driver.UIAUTOMATOR2: "Android",
    Driver.XCUITEST: "iOS",
}


def deep_merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """Return `base` updated with `extra`, merging nested tables instead of replacing them."""
    merged = copy.deepcopy(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def build_capabilities(
    profile: DeviceProfile,
    root: Path,
    new_command_timeout_s: int,
    scratch_dir: str,
    chromedriver_port: int,
) -> dict[str, Any]:
    """Build the capabilities of one new session of `profile`.

    `chromedriver_port` must be free and differ between parallel sessions, because the Chromium
    driver stops whatever process holds the port it is given. `scratch_dir` is the local
    server's TMPDIR, which gets the session's fresh Chromium profile; "" for a remote server.
    """
    capabilities: dict[str, Any] = {
        "platformName": PLATFORM_NAMES[profile.driver],
        "appium:automationName": profile.driver.value,
        "appium:newCommandTimeout": new_command_timeout_s,
    }
    if profile.driver is Driver.CHROMIUM:
        capabilities.update(chromium_capabilities(scratch_dir, chromedriver_port))
    elif profile.driver is Driver.FAKE:
        capabilities["appium:app"] = str((root / DEVICES_DIR / "apps" / profile.app).resolve())
    else:
        capabilities["appium:deviceName"] = profile.device_name
        if profile.platform_version:
            capabilities["appium:platformVersion"] = profile.platform_version
        if profile.app:
            capabilities["appium:app"] = profile.app
    return deep_merge(capabilities, profile.capabilities)


def chromium_capabilities(scratch_dir: str, chromedriver_port: int) -> dict[str, Any]:
    args = list(CHROMIUM_ARGS)
    if scratch_dir:
        args.append(f"--user-data-dir={Path(scratch_dir) / 'profiles' / uuid.uuid4().hex}")
    return {
        "browserName": "chrome",
        # Debian's chromedriver matches Debian's Chromium; the driver must not fetch its own.
        "appium:executable": str(CHROMEDRIVER),
        "appium:autodownloadEnabled": False,
        "appium:chromedriverPort": chromedriver_port,
        "goog:chromeOptions": {"binary": str(CHROMIUM), "args": args},
    }
