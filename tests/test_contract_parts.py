"""The pure parts of the contract suite: outcome classification, JUnit parsing and redaction."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.evidence.junit import EvidenceError
from harness.evidence.redaction import redact
from harness.evidence.schemathesis import (
    ContractFailure,
    ContractReport,
    parse_schemathesis_junit,
)
from harness.runners.base import SuiteOutcome
from harness.runners.contract import classify_schemathesis, openapi_problem

FAILURE = ContractFailure("GET /a", ("ST101 Server error",), "", "curl http://x/a")
ERROR = ContractFailure("GET /b", ("error",), "", "", error=True)

JUNIT = """<?xml version="1.0" encoding="utf-8"?>
<testsuites><testsuite name="schemathesis" tests="4">
<testcase name="GET /a"><failure type="failure" message="ST101">1. Test Case ID: x

- ST101 Server error

- ST103 Undocumented status code

Reproduce with:

    curl -X GET -H 'Authorization: [Filtered]' http://127.0.0.1:1/a
</failure></testcase>
<testcase name="GET /b"><error type="error" message="Network">connection refused</error></testcase>
<testcase name="GET /c"><skipped/></testcase>
<testcase name="Stateful tests"/>
</testsuite></testsuites>
"""


@pytest.mark.parametrize(
    ("exit_code", "report", "outcome", "fragment"),
    [
        (0, ContractReport(3, 0), SuiteOutcome.PASSED, "3 operations passed"),
        (1, ContractReport(3, 0, [FAILURE]), SuiteOutcome.FAILED, "1 failures and 0 errors"),
        (1, ContractReport(3, 0, [ERROR]), SuiteOutcome.FAILED, "0 failures and 1 errors"),
        (1, ContractReport(3, 0), SuiteOutcome.ERROR, "inconclusive: exit code 1"),
        (0, ContractReport(3, 0, [FAILURE]), SuiteOutcome.ERROR, "inconclusive: exit code 0"),
        (0, ContractReport(0, 2), SuiteOutcome.NO_EVIDENCE, "no API operation"),
        (2, ContractReport(3, 0), SuiteOutcome.ERROR, "exit code 2"),
        (-1, ContractReport(3, 0), SuiteOutcome.ERROR, "timed out"),
        (2, EvidenceError("x.xml is missing"), SuiteOutcome.NO_EVIDENCE, "x.xml is missing"),
    ],
)
def test_classify_schemathesis(
    exit_code: int,
    report: ContractReport | EvidenceError,
    outcome: SuiteOutcome,
    fragment: str,
) -> None:
    actual, reason = classify_schemathesis(exit_code, report)
    assert actual is outcome
    assert fragment in reason


def test_junit_counts_and_failures(tmp_path: Path) -> None:
    path = tmp_path / "schemathesis.xml"
    path.write_text(JUNIT)
    report = parse_schemathesis_junit(path)
    assert (report.operations_tested, report.operations_skipped) == (2, 1)
    assert (report.failure_count, report.error_count) == (1, 1)
    failure = report.failures[0]
    assert failure.checks == ("ST101 Server error", "ST103 Undocumented status code")
    assert failure.reproduction.startswith("curl -X GET")
    assert report.failures[1].checks == ("Network",)


@pytest.mark.parametrize(
    ("content", "reason"), [(None, "is missing"), ("", "is empty"), ("<a", "not valid XML")]
)
def test_junit_bad_evidence(tmp_path: Path, content: str | None, reason: str) -> None:
    path = tmp_path / "schemathesis.xml"
    if content is not None:
        path.write_text(content)
    with pytest.raises(EvidenceError, match=reason):
        parse_schemathesis_junit(path)


def test_junit_wrong_root(tmp_path: Path) -> None:
    path = tmp_path / "schemathesis.xml"
    path.write_text("<html/>")
    with pytest.raises(EvidenceError, match="root element <html>"):
        parse_schemathesis_junit(path)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("curl -H 'Authorization: [Filtered]' u", "curl -H 'Authorization: Bearer <TOKEN>' u"),
        ("curl -H 'authorization: Bearer v1.2.3.x' u", "curl -H 'authorization: Bearer <TOKEN>' u"),
        (
            '-d \'{"username": "a", "password": "p\\"w"}\'',
            '-d \'{"username": "a", "password": "<PASSWORD>"}\'',
        ),
        ("ws://h/api/ws?token=abc&x=1", "ws://h/api/ws?token=<TOKEN>&x=1"),
        ("login as alice with hunter2", "login as alice with <PASSWORD>"),
    ],
)
def test_redact(text: str, expected: str) -> None:
    assert redact(text, ["hunter2", ""]) == expected


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("<html>", "does not parse as JSON"),
        ("[1]", "not an OpenAPI 3 document"),
        ('{"swagger": "2.0"}', "not an OpenAPI 3 document"),
        ('{"openapi": "3.1.0"}', "no 'paths' object"),
    ],
)
def test_openapi_problem(text: str, fragment: str) -> None:
    assert fragment in openapi_problem(text)


def test_openapi_accepted() -> None:
    assert openapi_problem('{"openapi": "3.0.3", "paths": {}}') == ""
