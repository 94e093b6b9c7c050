"""JUnit XML: count test verdicts from the file pytest writes."""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from harness.evidence.xml_files import EvidenceError, read_xml_root

__all__ = ["EvidenceError", "JUnitCounts", "case_id", "case_outcomes", "final_cases", "parse_junit"]


RERUNS_PROPERTY = "reruns"


@dataclass(frozen=True)
class JUnitCounts:
    """Verdicts counted per test, not taken from the summary attributes.

    A testcase holding both a failure and an error (a test that failed and then broke in
    teardown) counts once, as failed, so the verdicts add up to the number of tests. A test that
    pytest-rerunfailures ran again has one testcase per attempt (since version 16.6.1); it counts
    once, with the verdict of its last attempt, and is flaky when that attempt passed.
    """

    total: int
    passed: int
    failed: int
    errors: int
    skipped: int
    failed_ids: tuple[str, ...] = ()
    flaky_ids: tuple[str, ...] = ()

    @property
    def flaky(self) -> int:
        return len(self.flaky_ids)

    @property
    def executed(self) -> int:
        return self.passed + self.failed + self.errors


def case_id(case: ElementTree.Element) -> str:
    return f"{case.get('classname', '')}::{case.get('name', '')}"


def read_root(path: Path) -> ElementTree.Element:
    return read_xml_root(path, "JUnit XML", {"testsuites", "testsuite"})


def parse_junit(path: Path) -> JUnitCounts:
    """Count the verdicts in a JUnit XML file; raise EvidenceError if it is missing or corrupt."""
    return count_cases(read_root(path).iter("testcase"))


def case_outcomes(path: Path) -> dict[str, str]:
    """Map each test case's "classname::name" to passed, failed, error or skipped."""
    outcomes = {}
    for case in read_root(path).iter("testcase"):
        outcome = "passed"
        for tag in ("skipped", "error", "failure"):
            if case.find(tag) is not None:
                outcome = "failed" if tag == "failure" else tag
        outcomes[case_id(case)] = outcome
    return outcomes


def final_cases(paths: Iterable[Path]) -> list[ElementTree.Element]:
    """Return the last testcase of each test id across the attempts' reports, in first-seen order.

    `paths` are one suite's reports in attempt order, such as a first run and its retries; a
    test's last testcase carries its final verdict. Raises EvidenceError for an unusable report.
    """
    cases: dict[str, ElementTree.Element] = {}
    for path in paths:
        for case in read_root(path).iter("testcase"):
            cases[case_id(case)] = case
    return list(cases.values())


def reruns_of(case: ElementTree.Element) -> int:
    """Return the reruns that the harness's unit plugin recorded as a testcase property."""
    for prop in case.iter("property"):
        if prop.get("name") == RERUNS_PROPERTY and (prop.get("value") or "").isdigit():
            return int(prop.get("value") or 0)
    return 0


def last_attempts(cases: Iterable[ElementTree.Element]) -> dict[str, tuple[int, int]]:
    """Map each test id to the position of its last testcase and its number of attempts."""
    attempts: dict[str, tuple[int, int]] = {}
    for position, case in enumerate(cases):
        identity = case_id(case)
        previous = attempts.get(identity, (0, 0))[1]
        attempts[identity] = (position, max(previous + 1, reruns_of(case) + 1))
    return attempts


def count_cases(cases: Iterable[ElementTree.Element]) -> JUnitCounts:
    all_cases = list(cases)
    passed = failed = errors = skipped = 0
    failed_ids: list[str] = []
    flaky_ids: list[str] = []
    for identity, (position, attempts) in last_attempts(all_cases).items():
        case = all_cases[position]
        if case.find("failure") is not None:
            failed += 1
            failed_ids.append(identity)
        elif case.find("error") is not None:
            errors += 1
            failed_ids.append(identity)
        elif case.find("skipped") is not None:
            skipped += 1
        else:
            passed += 1
            if attempts > 1:
                flaky_ids.append(identity)
    total = passed + failed + errors + skipped
    return JUnitCounts(total, passed, failed, errors, skipped, tuple(failed_ids), tuple(flaky_ids))
