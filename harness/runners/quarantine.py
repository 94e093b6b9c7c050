"""Quarantine in the pytest-based runners: review a suite's verdicts and decide its outcome."""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from pathlib import Path

from harness.config.quarantine import QUARANTINE_FILE, load_quarantine
from harness.evidence.junit import EvidenceError, JUnitCounts, case_outcomes
from harness.evidence.quarantine import (
    QuarantineReview,
    log_review,
    review_quarantine,
    write_review,
)
from harness.runners.base import RunContext, SuiteOutcome, classify_pytest

__all__ = ["apply_quarantine", "classify_with_quarantine", "review_junit", "with_note"]


def apply_quarantine(
    context: RunContext, suite: str, outcomes: Mapping[str, str]
) -> QuarantineReview:
    """Review the suite's final verdicts per test id, log the review and record it in the run.

    The orchestrator has already validated quarantine.toml before the run started.
    """
    today = datetime.date.today()
    entries = load_quarantine(context.root / QUARANTINE_FILE, today).for_suite(suite)
    review = review_quarantine(entries, suite, outcomes, today)
    log_review(review)
    if entries:
        write_review(context.run.path, review)
    return review


def classify_with_quarantine(
    exit_code: int | None,
    counts: JUnitCounts | EvidenceError,
    review: QuarantineReview,
    collected: int | None = None,
    incomplete: str = "",
) -> tuple[SuiteOutcome, str]:
    """Classify like classify_pytest, then leave the excused failures out of the verdict.

    The exit code is first held against the full report, so the evidence is checked as it is.
    A suite whose only failures are excused passes, unless `incomplete` names broken evidence.
    A suite in which every executed test is an excused failure has nothing that passed, so it
    fails closed as NO_EVIDENCE.
    """
    outcome, reason = classify_pytest(exit_code, counts, collected, incomplete)
    excused = len(review.excused)
    if outcome is not SuiteOutcome.FAILED or excused == 0 or isinstance(counts, EvidenceError):
        return outcome, with_note(reason, review)

    remaining = counts.failed + counts.errors - excused
    also = f"; {incomplete}" if incomplete else ""
    if remaining > 0:
        reason = f"{remaining} of {counts.total} failed, {excused} quarantined{also}"
        return SuiteOutcome.FAILED, with_note(reason, review)
    if counts.passed == 0:
        reason = f"every executed test is a quarantined failure ({excused}), so none passed"
        return SuiteOutcome.NO_EVIDENCE, with_note(reason, review)
    if incomplete:
        reason = f"{counts.passed} of {counts.total} passed, but {incomplete}"
        return SuiteOutcome.ERROR, with_note(reason, review)
    reason = f"{counts.passed} of {counts.total} passed, {excused} quarantined failed"
    return SuiteOutcome.PASSED, with_note(reason, review)


def with_note(reason: str, review: QuarantineReview) -> str:
    """Append the review's excused and expired failures to a suite's reason."""
    note = review.note()
    return f"{reason}; {note}" if note else reason


def review_junit(
    context: RunContext, suite: str, junit: Path, counts: JUnitCounts | EvidenceError
) -> QuarantineReview:
    """Review the final verdicts in a suite's JUnit XML; a missing report excuses nothing."""
    if isinstance(counts, EvidenceError):
        return QuarantineReview(suite)
    return apply_quarantine(context, suite, case_outcomes(junit))
