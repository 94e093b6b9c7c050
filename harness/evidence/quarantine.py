"""Quarantine review: which quarantine entries excused a failure in a run, and the record of it.

A suite's runner reviews its final verdict per test id against the suite's quarantine entries.
The review sorts every entry into one of four groups. It is written to `quarantine.json` in the
run folder, keyed by suite. The merged JUnit XML and the Allure results read it back, and the
promotion record hashes it like every evidence file.
"""

from __future__ import annotations

import datetime
import json
import logging
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

from harness.config.quarantine import QuarantineEntry
from harness.runs import write_json_atomically

__all__ = [
    "QUARANTINE_RECORD",
    "QuarantineReview",
    "QuarantinedTest",
    "read_reviews",
    "review_quarantine",
    "write_review",
]

log = logging.getLogger(__name__)

QUARANTINE_RECORD = "quarantine.json"
FAILED_OUTCOMES = frozenset({"failed", "error"})


@dataclass(frozen=True)
class QuarantinedTest:
    """A quarantine entry together with the final outcome of its test in the run."""

    test: str
    suite: str
    owner: str
    reason: str
    expires: str
    ticket: str
    outcome: str

    @classmethod
    def from_entry(cls, entry: QuarantineEntry, outcome: str) -> QuarantinedTest:
        ticket = entry.ticket or ""
        expires = entry.expires.isoformat()
        return cls(entry.test, entry.suite, entry.owner, entry.reason, expires, ticket, outcome)

    def summary(self) -> str:
        """Describe why the failure is excused, for JUnit messages and Allure results."""
        ticket = f", {self.ticket}" if self.ticket else ""
        return f"quarantined by {self.owner} until {self.expires}{ticket}: {self.reason}"


@dataclass(frozen=True)
class QuarantineReview:
    """The quarantine entries of one suite, sorted by what they did in one run.

    `excused`: the test failed and its entry was active, so the failure is not counted as failed.
    `expired`: the test failed after its entry expired, so the failure counts as failed again.
    `passing`: the test passed or was skipped, so its entry had nothing to excuse.
    `not_run`: the run has no verdict for the test, so the entry may be stale.
    """

    suite: str
    excused: tuple[QuarantinedTest, ...] = ()
    expired: tuple[QuarantinedTest, ...] = ()
    passing: tuple[QuarantinedTest, ...] = ()
    not_run: tuple[QuarantinedTest, ...] = ()

    @property
    def excused_ids(self) -> frozenset[str]:
        return frozenset(test.test for test in self.excused)

    def note(self) -> str:
        """Return the text the suite's reason ends with, or "" when no entry met a failure."""
        parts = []
        if self.excused:
            listed = ", ".join(f"{t.test} (owner {t.owner})" for t in self.excused)
            parts.append(f"quarantined failures: {listed}")
        for test in self.expired:
            expiry = f"(owner {test.owner}) expired on {test.expires}"
            parts.append(f"quarantine of {test.test} {expiry}")
        return "; ".join(parts)

    def as_json(self) -> dict[str, list[dict[str, str]]]:
        groups = {
            "excused": self.excused,
            "expired": self.expired,
            "passing": self.passing,
            "not_run": self.not_run,
        }
        return {name: [asdict(test) for test in tests] for name, tests in groups.items()}

    @classmethod
    def from_json(cls, suite: str, data: Mapping[str, list[dict[str, str]]]) -> QuarantineReview:
        def group(name: str) -> tuple[QuarantinedTest, ...]:
            return tuple(QuarantinedTest(**test) for test in data.get(name, []))

        return cls(suite, group("excused"), group("expired"), group("passing"), group("not_run"))


def review_quarantine(
    entries: list[QuarantineEntry],
    suite: str,
    outcomes: Mapping[str, str],
    today: datetime.date,
) -> QuarantineReview:
    """Sort the suite's entries by the final outcome of their test (passed, failed, error, ...)."""
    groups: dict[str, list[QuarantinedTest]] = {
        "excused": [],
        "expired": [],
        "passing": [],
        "not_run": [],
    }
    for entry in entries:
        outcome = outcomes.get(entry.test)
        if outcome is None:
            groups["not_run"].append(QuarantinedTest.from_entry(entry, "not run"))
        elif outcome not in FAILED_OUTCOMES:
            groups["passing"].append(QuarantinedTest.from_entry(entry, outcome))
        elif entry.active_on(today):
            groups["excused"].append(QuarantinedTest.from_entry(entry, outcome))
        else:
            groups["expired"].append(QuarantinedTest.from_entry(entry, outcome))
    return QuarantineReview(
        suite,
        tuple(groups["excused"]),
        tuple(groups["expired"]),
        tuple(groups["passing"]),
        tuple(groups["not_run"]),
    )


def log_review(review: QuarantineReview) -> None:
    """Log every excused and expired failure, and warn about entries the run had no test for."""
    for test in review.excused:
        log.info("%s: failure of %s not counted, %s", review.suite, test.test, test.summary())
    for test in review.expired:
        log.warning(
            "%s: quarantine of %s (owner %s) expired on %s, so its failure counts",
            review.suite,
            test.test,
            test.owner,
            test.expires,
        )
    for test in review.not_run:
        log.warning(
            "%s: quarantined test %s (owner %s) was not in this run; "
            "remove its entry from quarantine.toml if the test was renamed or deleted",
            review.suite,
            test.test,
            test.owner,
        )


def write_review(run_path: Path, review: QuarantineReview) -> Path:
    """Add the suite's review to quarantine.json, keeping the reviews of the run's other suites."""
    path = run_path / QUARANTINE_RECORD
    data = {suite: other.as_json() for suite, other in read_reviews(run_path).items()}
    data[review.suite] = review.as_json()
    write_json_atomically(path, {"suites": data})
    return path


def read_reviews(run_path: Path) -> dict[str, QuarantineReview]:
    """Read quarantine.json; a run without it, or with an unreadable one, has no reviews.

    An unreadable record is logged, and its failures then show as plain failures in the merged
    JUnit XML and in Allure, never as excused.
    """
    path = run_path / QUARANTINE_RECORD
    if not path.is_file():
        return {}
    try:
        suites = json.loads(path.read_text(encoding="utf-8"))["suites"]
        return {name: QuarantineReview.from_json(name, data) for name, data in suites.items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
        log.warning("%s is unreadable (%s); quarantined failures show as failures", path, error)
        return {}
