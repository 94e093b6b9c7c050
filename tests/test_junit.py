"""JUnit parsing and the mapping of pytest's exit code plus report to a suite outcome."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.errors import UsageError
from harness.evidence.junit import EvidenceError, JUnitCounts, parse_junit
from harness.runners.base import SuiteOutcome, classify_pytest, require_modules

REPORT = """<?xml version="1.0" encoding="utf-8"?>
<testsuites><testsuite name="uat" tests="5">
  <testcase classname="a" name="passes"/>
  <testcase classname="a" name="fails"><failure message="x"/></testcase>
  <testcase classname="a" name="fails_and_errors"><failure/><error/></testcase>
  <testcase classname="a" name="errors"><error message="setup"/></testcase>
  <testcase classname="a" name="skipped"><skipped/></testcase>
</testsuite></testsuites>
"""


def test_counts_per_case(tmp_path: Path) -> None:
    path = tmp_path / "report.xml"
    path.write_text(REPORT)
    counts = parse_junit(path)
    assert counts.total == 5
    assert counts.passed == 1
    assert counts.failed == 2
    assert counts.errors == 1
    assert counts.skipped == 1
    assert counts.executed == 4
    assert counts.failed_ids == ("a::fails", "a::fails_and_errors", "a::errors")


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (None, "missing"),
        ("", "empty"),
        ("<testsuites><testcase>", "not valid XML"),
        ("<html></html>", "not JUnit XML"),
        # An entity that expands on parsing: refused, as a report from another CI job could hold
        # a billion-laughs bomb.
        (
            '<!DOCTYPE t [<!ENTITY a "aaaa">]><testsuites><testcase name="&a;"/></testsuites>',
            "was rejected",
        ),
    ],
)
def test_bad_reports_raise(tmp_path: Path, content: str | None, reason: str) -> None:
    path = tmp_path / "report.xml"
    if content is not None:
        path.write_text(content)
    with pytest.raises(EvidenceError, match=reason):
        parse_junit(path)


def counts(passed: int = 0, failed: int = 0, skipped: int = 0) -> JUnitCounts:
    return JUnitCounts(passed + failed + skipped, passed, failed, 0, skipped)


@pytest.mark.parametrize(
    ("exit_code", "report", "outcome", "reason"),
    [
        (0, counts(passed=3), SuiteOutcome.PASSED, "3 of 3 passed"),
        (1, counts(passed=2, failed=1), SuiteOutcome.FAILED, "1 of 3 failed"),
        (5, counts(), SuiteOutcome.NO_EVIDENCE, "no tests were collected"),
        (0, counts(skipped=4), SuiteOutcome.NO_EVIDENCE, "all 4 tests were skipped"),
        (0, counts(passed=2, failed=1), SuiteOutcome.ERROR, "exit code 0 contradicts 1 failures"),
        (1, counts(passed=3), SuiteOutcome.ERROR, "exit code 1 contradicts 0 failures"),
        (2, counts(passed=1), SuiteOutcome.ERROR, "collection errors"),
        (3, counts(passed=1), SuiteOutcome.ERROR, "exit code 3"),
        (5, EvidenceError("uat.xml is missing"), SuiteOutcome.NO_EVIDENCE, "exit code 5"),
        (1, EvidenceError("uat.xml is empty"), SuiteOutcome.NO_EVIDENCE, "uat.xml is empty"),
    ],
)
def test_classify_pytest(
    exit_code: int, report: JUnitCounts | EvidenceError, outcome: SuiteOutcome, reason: str
) -> None:
    actual_outcome, actual_reason = classify_pytest(exit_code, report)
    assert actual_outcome is outcome
    assert reason in actual_reason


def test_missing_tool_names_package_and_extra() -> None:
    require_modules({"json": "json"}, "unit")
    with pytest.raises(UsageError) as raised:
        require_modules({"harness_no_such_module": "no-such-package"}, "contract")
    message = str(raised.value)
    assert "no-such-package is not installed" in message
    assert "pip install -e '.[contract]'" in message
