"""JUnit XML: count test verdicts from the file pytest writes."""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass
from pathlib import Path

__all__ = ["EvidenceError", "JUnitCounts", "case_outcomes", "parse_junit"]


class EvidenceError(Exception):
    """An evidence file is missing, empty or cannot be parsed."""


@dataclass(frozen=True)
class JUnitCounts:
    """Verdicts counted per test case, not taken from the summary attributes.

    A testcase holding both a failure and an error (a test that failed and then broke in
    teardown) counts once, as failed, so the verdicts add up to the number of test cases.
    """

    total: int
    passed: int
    failed: int
    errors: int
    skipped: int
    failed_ids: tuple[str, ...] = ()

    @property
    def executed(self) -> int:
        return self.passed + self.failed + self.errors


def case_id(case: ElementTree.Element) -> str:
    return f"{case.get('classname', '')}::{case.get('name', '')}"


def read_root(path: Path) -> ElementTree.Element:
    if not path.is_file():
        raise EvidenceError(f"{path.name} is missing")
    if path.stat().st_size == 0:
        raise EvidenceError(f"{path.name} is empty")
    try:
        root = ElementTree.parse(path).getroot()  # noqa: S314 - see the import above
    except ElementTree.ParseError as error:
        raise EvidenceError(f"{path.name} is not valid XML: {error}") from None
    if root.tag not in {"testsuites", "testsuite"}:
        raise EvidenceError(f"{path.name} is not JUnit XML (root element <{root.tag}>)")
    return root


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


def count_cases(cases: object) -> JUnitCounts:
    passed = failed = errors = skipped = 0
    failed_ids: list[str] = []
    for case in cases:  # type: ignore[attr-defined]
        if case.find("failure") is not None:
            failed += 1
            failed_ids.append(case_id(case))
        elif case.find("error") is not None:
            errors += 1
            failed_ids.append(case_id(case))
        elif case.find("skipped") is not None:
            skipped += 1
        else:
            passed += 1
    total = passed + failed + errors + skipped
    return JUnitCounts(total, passed, failed, errors, skipped, tuple(failed_ids))
