"""Channels by name, and the ones that are planned but cannot run yet."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from harness.channels.api import ApiChannel
from harness.channels.base import Channel
from harness.errors import Problem, UsageError

__all__ = ["CHANNELS", "check_channels", "open_channel"]

ChannelFactory = Callable[[str, str, float], Channel]



def mobile_channel(base_url: str, realtime_url: str, timeout_s: float) -> Channel:
    """Open the mobile channel; imported here so the api channel needs no Appium client."""
    from harness.channels.mobile import MobileChannel

    return MobileChannel(base_url, realtime_url, timeout_s)


CHANNELS: dict[str, ChannelFactory] = {"api": ApiChannel, "mobile": mobile_channel}


def check_channels(names: Sequence[str]) -> None:
    for name in names:
        if name not in CHANNELS:
            choices = ", ".join(sorted(CHANNELS))
            raise UsageError(Problem.UNKNOWN_CHANNEL, {"name": name, "choices": choices})


def open_channel(name: str, base_url: str, realtime_url: str, timeout_s: float) -> Channel:
    check_channels([name])
    return CHANNELS[name](base_url, realtime_url, timeout_s)
