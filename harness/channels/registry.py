"""Channels by name, and the preflight check that each one can start on this machine."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from harness.channels.api import ApiChannel
from harness.channels.base import BrowserUnavailable, Channel
from harness.errors import Problem, UsageError

__all__ = ["CHANNELS", "check_channels", "open_channel", "preflight_channels"]

ChannelFactory = Callable[[str, str, float], Channel]


# The browser channels import Playwright, so they load only when a run selects them.
def open_web(base_url: str, realtime_url: str, timeout_s: float) -> Channel:
    from harness.channels.web import WebChannel

    return WebChannel(base_url, realtime_url, timeout_s)


def open_desktop(base_url: str, realtime_url: str, timeout_s: float) -> Channel:
    from harness.channels.desktop import DesktopChannel

    return DesktopChannel(base_url, realtime_url, timeout_s)


def check_web() -> None:
    from harness.channels.web import check_web_browser

    check_web_browser()


def check_desktop() -> None:
    from harness.channels.desktop import check_desktop_shell

    check_desktop_shell()


def mobile_channel(base_url: str, realtime_url: str, timeout_s: float) -> Channel:
    """Open the mobile channel; imported here so the api channel needs no Appium client."""
    from harness.channels.mobile import MobileChannel

    return MobileChannel(base_url, realtime_url, timeout_s)


CHANNELS: dict[str, ChannelFactory] = {
    "api": ApiChannel,
    "web": open_web,
    "desktop": open_desktop,
    "mobile": mobile_channel,
}

# Channels that need software beyond Python packages, with a check that launches it.
PREFLIGHTS: dict[str, Callable[[], None]] = {"web": check_web, "desktop": check_desktop}


def check_channels(names: Sequence[str]) -> None:
    for name in names:
        if name not in CHANNELS:
            choices = ", ".join(sorted(CHANNELS))
            raise UsageError(Problem.UNKNOWN_CHANNEL, {"name": name, "choices": choices})


def preflight_channels(names: Sequence[str]) -> None:
    """Start what each selected channel needs, so a missing browser stops a run before it starts."""
    for name in names:
        check = PREFLIGHTS.get(name)
        if check is None:
            continue
        try:
            check()
        except BrowserUnavailable as error:
            reason: object = error
        except ImportError as error:
            reason = f"{error}; install the harness with its uat extra: pip install -e '.[uat]'"
        else:
            continue
        raise UsageError(Problem.BROWSER_UNAVAILABLE, {"what": f"channel {name}", "reason": reason})


def open_channel(name: str, base_url: str, realtime_url: str, timeout_s: float) -> Channel:
    check_channels([name])
    return CHANNELS[name](base_url, realtime_url, timeout_s)
