"""The harness's pytest plugin: the target, accounts and channels that scenario steps use.

pytest loads it through the `pytest11` entry point in every run, but it only provides fixtures; it
reads the target description from HARNESS_TARGET_FILE, which the harness sets for the suites it
starts. A scenario run outside the harness fails with a message saying how to start it.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from harness.channels.base import Channel
from harness.channels.registry import open_channel

__all__ = ["Account", "TargetInfo"]

TARGET_FILE_VARIABLE = "HARNESS_TARGET_FILE"


@dataclass(frozen=True)
class Account:
    """A scenario actor's username and password, read from the variable the environment names."""

    username: str
    password: str


@dataclass(frozen=True)
class TargetInfo:
    """The deployment a suite runs against, as the harness wrote it into target.json."""

    run_id: str
    environment: str
    sensitive: bool
    base_url: str
    realtime_url: str
    build_id: str
    request_timeout_s: float
    accounts: dict[str, dict[str, str]]

    def account(self, actor: str) -> Account:
        if actor not in self.accounts:
            known = ", ".join(sorted(self.accounts)) or "none"
            pytest.fail(
                f"no account for actor {actor!r} in environment {self.environment} ({known})"
            )
        entry = self.accounts[actor]
        password = os.environ.get(entry["password_env"], "")
        if not password:
            pytest.fail(
                f"environment variable {entry['password_env']} (password of {actor}) is not set"
            )
        return Account(entry["username"], password)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("harness", "acceptance scenarios run by the harness")
    group.addoption(
        "--channel",
        default="api",
        help="comma-separated channels the scenarios run on (default: api)",
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "channel_name" in metafunc.fixturenames:
        names = [name for name in metafunc.config.getoption("channel").split(",") if name]
        metafunc.parametrize("channel_name", names, scope="function")


@pytest.fixture(scope="session")
def harness_target() -> TargetInfo:
    path = os.environ.get(TARGET_FILE_VARIABLE, "")
    if not path:
        pytest.fail("HARNESS_TARGET_FILE is not set; run scenarios with: harness run uat")
    data: dict[str, Any] = json.loads(Path(path).read_text(encoding="utf-8"))
    return TargetInfo(**data)


@pytest.fixture
def test_data_prefix(harness_target: TargetInfo) -> str:
    """A prefix for names a scenario creates, unique per run and scenario, so runs never collide."""
    return f"qa-{harness_target.run_id[-6:]}-{uuid.uuid4().hex[:6]}"


@pytest.fixture
def chat_channel(channel_name: str, harness_target: TargetInfo) -> Iterator[Channel]:
    channel = open_channel(
        channel_name,
        harness_target.base_url,
        harness_target.realtime_url,
        harness_target.request_timeout_s,
    )
    try:
        yield channel
    finally:
        channel.close()
