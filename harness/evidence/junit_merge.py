"""Combine the JUnit XML of several shard runs into one report with one verdict per test id.

A test id ("classname::name") that appears in several reports, because shards overlapped or a
shard ran again, is written once with the verdict of its last attempt. The reports are read in
the order given, so the caller passes them from the earliest run to the latest. An attempt that
failed or broke before the last one is recorded in the `reruns` property, which parse_junit reads:
a test whose last attempt passed after a failed one is flaky. Attempts that all passed are not.
"""

from __future__ import annotations

import copy
import xml.etree.ElementTree as ElementTree
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from harness.evidence.junit import RERUNS_PROPERTY, count_cases, last_attempts

__all__ = ["combine_reports", "write_report"]


@dataclass(frozen=True)
class LastAttempt:
    """A test's latest testcase element and the failed attempts that came before it."""

    case: ElementTree.Element
    failed_before: int


def is_broken(case: ElementTree.Element) -> bool:
    return case.find("failure") is not None or case.find("error") is not None


def combine_reports(roots: Iterable[ElementTree.Element], suite: str) -> ElementTree.Element:
    """Return a <testsuites> element with one testcase per test id of all `roots`.

    Within one report, pytest-rerunfailures only reruns a test after a failure, so every attempt
    but the last one of a report counts as failed.
    """
    latest: dict[str, LastAttempt] = {}
    for root in roots:
        cases = list(root.iter("testcase"))
        for identity, (position, attempts) in last_attempts(cases).items():
            before = 0
            previous = latest.get(identity)
            if previous is not None:
                before = previous.failed_before + int(is_broken(previous.case))
            latest[identity] = LastAttempt(cases[position], before + attempts - 1)

    testsuite = ElementTree.Element("testsuite", {"name": suite})
    for attempt in latest.values():
        testsuite.append(with_reruns(attempt.case, attempt.failed_before))
    counts = count_cases(testsuite.iter("testcase"))
    testsuite.set("tests", str(counts.total))
    testsuite.set("failures", str(counts.failed))
    testsuite.set("errors", str(counts.errors))
    testsuite.set("skipped", str(counts.skipped))
    combined = ElementTree.Element("testsuites", {"name": suite})
    combined.append(testsuite)
    return combined


def with_reruns(case: ElementTree.Element, reruns: int) -> ElementTree.Element:
    """Return a copy of `case` whose `reruns` property is `reruns`, or absent when it is 0."""
    result = copy.deepcopy(case)
    properties = result.find("properties")
    if properties is not None:
        for prop in list(properties.iter("property")):
            if prop.get("name") == RERUNS_PROPERTY:
                properties.remove(prop)
    if reruns > 0:
        if properties is None:
            properties = ElementTree.Element("properties")
            result.insert(0, properties)
        ElementTree.SubElement(properties, "property", name=RERUNS_PROPERTY, value=str(reruns))
    return result


def write_report(root: ElementTree.Element, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    ElementTree.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)
