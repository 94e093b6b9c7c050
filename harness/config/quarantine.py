"""quarantine.toml: flaky tests that still run but whose failures do not fail their suite.

Each entry names one test by its JUnit id, `<classname>::<name>` exactly as the suite's JUnit XML
writes it: for example `test_tokens::test_token_round_trip[2]` in the unit suite, or
`suites.e2e.test_flows::test_assistant_replies[chromium]` in the e2e suite. The id is matched
exactly, so each parameter set, browser project or channel of a test is quarantined on its own.
"""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Annotated, Literal

import pydantic

from harness.config.loader import StrictModel, load_toml_model
from harness.errors import Problem, UsageError

__all__ = [
    "MAX_EXPIRY_DAYS",
    "QUARANTINE_FILE",
    "QuarantineEntry",
    "QuarantineFile",
    "load_quarantine",
]

QUARANTINE_FILE = "quarantine.toml"
# A quarantine is a short-term measure: an entry may expire at most this many days after the day
# the file is loaded, so every flaky test comes back to its owner within one quarter.
MAX_EXPIRY_DAYS = 90

Text = Annotated[str, pydantic.StringConstraints(min_length=1, strip_whitespace=True)]


class QuarantineEntry(StrictModel):
    """One quarantined test: who owns the fix, why, and until when its failures are excused."""

    test: Text
    suite: Literal["unit", "uat", "e2e"]
    owner: Text
    reason: Text
    expires: datetime.date
    ticket: Text | None = None

    def active_on(self, today: datetime.date) -> bool:
        """Return whether the entry applies on `today`, which it does up to its expiry date."""
        return today <= self.expires


class QuarantineFile(StrictModel):
    """The whole quarantine.toml."""

    tests: list[QuarantineEntry] = pydantic.Field(default_factory=list)

    def for_suite(self, suite: str) -> list[QuarantineEntry]:
        return [entry for entry in self.tests if entry.suite == suite]


def load_quarantine(path: Path, today: datetime.date) -> QuarantineFile:
    """Load and check quarantine.toml; a project without the file quarantines nothing.

    Raises UsageError for a malformed file, an unknown or missing key, a test listed twice for
    one suite, or an expiry more than MAX_EXPIRY_DAYS days after `today`.
    """
    if not path.exists():
        return QuarantineFile()
    quarantine = load_toml_model(path, QuarantineFile)
    seen: set[tuple[str, str]] = set()
    latest = today + datetime.timedelta(days=MAX_EXPIRY_DAYS)
    for index, entry in enumerate(quarantine.tests):
        if (entry.suite, entry.test) in seen:
            reason = f"{entry.test} is quarantined twice in suite {entry.suite}; keep one entry"
            key = f"tests.{index}.test"
            raise UsageError(Problem.INVALID_VALUE, {"path": path, "key": key, "reason": reason})
        seen.add((entry.suite, entry.test))
        if entry.expires > latest:
            reason = (
                f"{entry.expires} is more than {MAX_EXPIRY_DAYS} days ahead; "
                f"set {latest} or earlier and renew the entry if the test is still flaky then"
            )
            key = f"tests.{index}.expires"
            raise UsageError(Problem.INVALID_VALUE, {"path": path, "key": key, "reason": reason})
    return quarantine
