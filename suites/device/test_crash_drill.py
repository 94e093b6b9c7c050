"""A browser crash in the middle of a session, to prove the crash-free gate catches it.

Runs only with HARNESS_DEVICE_CRASH_DRILL=1, because its crash counts against the rate.
"""

from __future__ import annotations

import pytest
from selenium.common.exceptions import WebDriverException

from harness.channels.base import ChannelError
from harness.channels.mobile import MobileSession


@pytest.mark.crash_drill
def test_browser_crash_is_counted(alice: MobileSession) -> None:
    # Browser.crash makes Chromium's browser process crash, as a real crash would.
    with pytest.raises(WebDriverException):
        alice.device.cdp("Browser.crash", {})
    with pytest.raises(ChannelError):
        alice.rooms()
    assert alice.device.crash, "the crash was not noticed"
