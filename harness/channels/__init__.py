"""Channels: drivers with one interface, so a scenario is written once and runs on each."""

from harness.channels.base import Channel, ChatMessage, ChatSession, Room
from harness.channels.registry import CHANNELS, check_channels, open_channel

__all__ = [
    "CHANNELS",
    "Channel",
    "ChatMessage",
    "ChatSession",
    "Room",
    "check_channels",
    "open_channel",
]
