"""schemathesis's JUnit XML: which operations were tested and which checks failed on them.

schemathesis 4 writes one test case per API operation, named "METHOD /path", plus one named
"Stateful tests" for the link-driven scenarios. Each <failure> holds one failing test case: its
check codes and titles as "- ST103 Undocumented status code" lines and a curl command under
"Reproduce with:". An <error> is an operation that could not be tested, such as a network error.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass, field
from pathlib import Path

from harness.evidence.xml_files import read_xml_root

__all__ = ["ContractFailure", "ContractReport", "parse_schemathesis_junit"]

STATEFUL_CASE = "Stateful tests"
CHECK_LINE = re.compile(r"^- (ST\d+) (.+)$", re.MULTILINE)
CURL_LINE = re.compile(r"^\s*(curl .+)$", re.MULTILINE)


@dataclass(frozen=True)
class ContractFailure:
    """One failing test case: the operation, the checks it failed and how to reproduce it."""

    operation: str
    checks: tuple[str, ...]
    message: str
    reproduction: str
    error: bool = False


@dataclass(frozen=True)
class ContractReport:
    """The operations schemathesis tested and every failure and error it recorded."""

    operations_tested: int
    operations_skipped: int
    failures: list[ContractFailure] = field(default_factory=list)

    @property
    def failure_count(self) -> int:
        return sum(1 for failure in self.failures if not failure.error)

    @property
    def error_count(self) -> int:
        return sum(1 for failure in self.failures if failure.error)


def parse_schemathesis_junit(path: Path) -> ContractReport:
    """Read schemathesis's JUnit report; raise EvidenceError if it is missing or corrupt."""
    root = read_xml_root(path, "JUnit XML", {"testsuites", "testsuite"})
    return summarize(list(root.iter("testcase")))


def summarize(cases: list[ElementTree.Element]) -> ContractReport:
    tested = skipped = 0
    failures: list[ContractFailure] = []
    for case in cases:
        name = case.get("name", "")
        failures += [read_failure(name, element) for element in case if is_problem(element)]
        if name == STATEFUL_CASE:
            continue
        if case.find("skipped") is not None:
            skipped += 1
        else:
            tested += 1
    return ContractReport(tested, skipped, failures)


def is_problem(element: ElementTree.Element) -> bool:
    return element.tag in {"failure", "error"}


def read_failure(operation: str, element: ElementTree.Element) -> ContractFailure:
    text = element.text or ""
    checks = tuple(f"{code} {title.strip()}" for code, title in CHECK_LINE.findall(text))
    if not checks:
        checks = (element.get("message") or element.tag,)
    curl = CURL_LINE.search(text)
    return ContractFailure(
        operation=operation,
        checks=checks,
        message=text.strip(),
        reproduction=curl.group(1).strip() if curl else "",
        error=element.tag == "error",
    )
