"""Quarantine of flaky tests, the retry cap gates and the run's merged JUnit XML."""

from __future__ import annotations

import datetime
import json
import xml.etree.ElementTree as ElementTree
from fractions import Fraction
from pathlib import Path

import pytest

from harness.config.gates import Comparison, GateSpec
from harness.config.quarantine import MAX_EXPIRY_DAYS, QuarantineEntry, load_quarantine
from harness.errors import Problem, UsageError
from harness.evaluation import GateResult, Outcome
from harness.evidence.allure import QUARANTINED_PREFIX, mark_quarantined
from harness.evidence.junit import JUnitCounts
from harness.evidence.quarantine import (
    QuarantineReview,
    read_reviews,
    review_quarantine,
    write_review,
)
from harness.reporting.allure import CATEGORIES, write_quarantine_results
from harness.reporting.junit import MERGED_JUNIT, write_merged_junit
from harness.runners.base import SuiteOutcome
from harness.runners.e2e import Attempts
from harness.runners.quarantine import classify_with_quarantine
from harness.runs import RunFolder
from tests.conftest import Project, gate_outcomes
from tests.test_bad_input import assert_one_line_error
from tests.test_unit_run import FAILS_ONCE_TEST

TODAY = datetime.date(2026, 12, 4)
SOON = TODAY + datetime.timedelta(days=30)
YESTERDAY = TODAY - datetime.timedelta(days=1)


def entry(test: str, expires: datetime.date = SOON, suite: str = "unit") -> QuarantineEntry:
    return QuarantineEntry(
        test=test, suite=suite, owner="dana", reason="races the clock", expires=expires
    )


def quarantine_toml(test: str, expires: datetime.date, suite: str = "unit", extra: str = "") -> str:
    return (
        "[[tests]]\n"
        f'test = "{test}"\n'
        f'suite = "{suite}"\n'
        'owner = "dana"\n'
        'reason = "races the clock on a busy machine"\n'
        f"expires = {expires.isoformat()}\n"
        f"{extra}"
    )


# quarantine.toml


def test_absent_file_quarantines_nothing(tmp_path: Path) -> None:
    assert load_quarantine(tmp_path / "quarantine.toml", TODAY).tests == []


def test_valid_file_loads(tmp_path: Path) -> None:
    path = tmp_path / "quarantine.toml"
    path.write_text(quarantine_toml("m::test_a", SOON, extra='ticket = "CHAT-12"\n'))
    [loaded] = load_quarantine(path, TODAY).for_suite("unit")
    assert loaded.test == "m::test_a"
    assert loaded.ticket == "CHAT-12"
    assert load_quarantine(path, TODAY).for_suite("e2e") == []


def test_expiry_cap_is_inclusive(tmp_path: Path) -> None:
    path = tmp_path / "quarantine.toml"
    latest = TODAY + datetime.timedelta(days=MAX_EXPIRY_DAYS)
    path.write_text(quarantine_toml("m::test_a", latest))
    assert load_quarantine(path, TODAY).tests[0].expires == latest


@pytest.mark.parametrize(
    ("text", "fragments"),
    [
        ("[[tests]\n", ["invalid TOML"]),
        (quarantine_toml("m::t", SOON, extra='color = "red"\n'), ["tests.0.color", "unknown key"]),
        (quarantine_toml("m::t", SOON).replace('owner = "dana"\n', ""), ["tests.0.owner"]),
        (quarantine_toml("m::t", SOON).replace("expires", "# expires"), ["tests.0.expires"]),
        (quarantine_toml("m::t", SOON).replace(SOON.isoformat(), '"soon"'), ["'soon'"]),
        (quarantine_toml("m::t", SOON, suite="load"), ["tests.0.suite", "'load'"]),
        (quarantine_toml("m::t", SOON).replace('"dana"', '"  "'), ["tests.0.owner"]),
        (
            quarantine_toml("m::t", TODAY + datetime.timedelta(days=MAX_EXPIRY_DAYS + 1)),
            ["tests.0.expires", "more than 90 days ahead", "2027-03-04 or earlier"],
        ),
        (quarantine_toml("m::t", SOON) * 2, ["tests.1.test", "quarantined twice"]),
    ],
)
def test_bad_file_names_key(tmp_path: Path, text: str, fragments: list[str]) -> None:
    path = tmp_path / "quarantine.toml"
    path.write_text(text)
    with pytest.raises(UsageError) as caught:
        load_quarantine(path, TODAY)
    message = caught.value.message()
    assert caught.value.problem in (Problem.MALFORMED_TOML, Problem.INVALID_VALUE)
    assert message.startswith(f"{path}: ")
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message


# Review of a suite's verdicts


def test_review_sorts_entries_by_outcome() -> None:
    entries = [
        entry("m::test_fails"),
        entry("m::test_errors", expires=TODAY),
        entry("m::test_expired", expires=YESTERDAY),
        entry("m::test_passes"),
        entry("m::test_gone"),
    ]
    outcomes = {
        "m::test_fails": "failed",
        "m::test_errors": "error",
        "m::test_expired": "failed",
        "m::test_passes": "passed",
        "m::test_other": "failed",
    }
    review = review_quarantine(entries, "unit", outcomes, TODAY)

    assert review.excused_ids == {"m::test_fails", "m::test_errors"}
    assert [test.test for test in review.expired] == ["m::test_expired"]
    assert [test.test for test in review.passing] == ["m::test_passes"]
    assert [test.test for test in review.not_run] == ["m::test_gone"]
    assert review.not_run[0].outcome == "not run"
    note = review.note()
    assert "quarantined failures: m::test_fails (owner dana), m::test_errors (owner dana)" in note
    assert f"quarantine of m::test_expired (owner dana) expired on {YESTERDAY}" in note


def test_review_without_failures_has_no_note() -> None:
    review = review_quarantine([entry("m::t")], "unit", {"m::t": "passed"}, TODAY)
    assert review.note() == ""


def test_review_record_keeps_other_suites(tmp_path: Path) -> None:
    unit = review_quarantine([entry("m::t")], "unit", {"m::t": "failed"}, TODAY)
    e2e = review_quarantine([entry("f::t[chromium]", suite="e2e")], "e2e", {}, TODAY)
    write_review(tmp_path, unit)
    write_review(tmp_path, e2e)

    reviews = read_reviews(tmp_path)
    assert reviews == {"unit": unit, "e2e": e2e}


def test_unreadable_record_reads_as_empty(tmp_path: Path) -> None:
    (tmp_path / "quarantine.json").write_text('{"suites": {"unit": {"excused": [{"x": 1}]}}}')
    assert read_reviews(tmp_path) == {}


# Outcome of a suite with quarantined failures


def counts(passed: int, failed: int, errors: int = 0) -> JUnitCounts:
    return JUnitCounts(passed + failed + errors, passed, failed, errors, 0)


def excusing(*tests: str, outcome: str = "failed") -> QuarantineReview:
    entries = [entry(test) for test in tests]
    return review_quarantine(entries, "unit", dict.fromkeys(tests, outcome), TODAY)


def test_only_excused_failures_pass() -> None:
    outcome, reason = classify_with_quarantine(1, counts(3, 1), excusing("m::t"))
    assert outcome is SuiteOutcome.PASSED
    assert reason == "3 of 4 passed, 1 quarantined failed; quarantined failures: m::t (owner dana)"


def test_other_failures_still_fail() -> None:
    outcome, reason = classify_with_quarantine(1, counts(2, 1, errors=1), excusing("m::t"))
    assert outcome is SuiteOutcome.FAILED
    assert reason.startswith("1 of 4 failed, 1 quarantined;")


def test_only_excused_tests_ran_is_no_evidence() -> None:
    outcome, reason = classify_with_quarantine(1, counts(0, 2), excusing("m::a", "m::b"))
    assert outcome is SuiteOutcome.NO_EVIDENCE
    assert "none passed" in reason


def test_excused_with_broken_coverage_is_error() -> None:
    review = excusing("m::t")
    outcome, reason = classify_with_quarantine(1, counts(3, 1), review, 4, "no coverage data")
    assert outcome is SuiteOutcome.ERROR
    assert "but no coverage data" in reason


def test_expired_entry_fails_with_reason() -> None:
    review = review_quarantine(
        [entry("m::t", expires=YESTERDAY)], "unit", {"m::t": "failed"}, TODAY
    )
    outcome, reason = classify_with_quarantine(1, counts(3, 1), review)
    assert outcome is SuiteOutcome.FAILED
    assert reason == f"1 of 4 failed; quarantine of m::t (owner dana) expired on {YESTERDAY}"


def test_e2e_attempts_leave_out_excused() -> None:
    attempts = Attempts()
    attempts.add(
        {"f::a[chromium]": "failed", "f::b[chromium]": "failed", "f::c[chromium]": "passed"}
    )
    attempts.add({"f::a[chromium]": "failed", "f::b[chromium]": "passed"})
    attempts.excused = frozenset({"f::a[chromium]"})

    assert attempts.counts() == {"passed": 2, "failed": 0, "flaky": 1}
    assert attempts.counts("chromium") == {"passed": 2, "failed": 0, "flaky": 1}
    assert attempts.final_outcomes()["f::a[chromium]"] == "failed"


# Merged JUnit XML

UNIT_XML = """<?xml version="1.0" encoding="utf-8"?>
<testsuites><testsuite name="unit" tests="3">
  <testcase classname="m" name="test_ok" time="0.5"/>
  <testcase classname="m" name="test_flaky" time="0.25"><failure message="first"/></testcase>
  <testcase classname="m" name="test_flaky" time="0.25"/>
  <testcase classname="m" name="test_quarantined" time="1">
    <failure message="assert 1 == 2">trace</failure>
  </testcase>
  <testcase classname="m" name="test_expired" time="1"><failure message="boom"/></testcase>
</testsuite></testsuites>
"""
E2E_XML = """<testsuites><testsuite name="e2e">
  <testcase classname="flows" name="test_send[chromium]"><failure message="timeout"/></testcase>
  <testcase classname="flows" name="test_login[chromium]"/>
</testsuite></testsuites>
"""
E2E_RETRY_XML = """<testsuites><testsuite name="e2e">
  <testcase classname="flows" name="test_send[chromium]"/>
</testsuite></testsuites>
"""


def gate_result(name: str, outcome: Outcome, actual: int | None, blocking: bool) -> GateResult:
    spec = GateSpec(
        name=name,
        metric="unit.tests.flaky",
        comparison=Comparison.LE,
        threshold=0,
        blocking=blocking,
    )
    value = None if actual is None else Fraction(actual)
    return GateResult(spec, outcome, value, f"{actual} <= 0 does not hold")


def merged_run(tmp_path: Path) -> Path:
    run_path = tmp_path / "run"
    (run_path / "junit").mkdir(parents=True)
    (run_path / "junit" / "unit.xml").write_text(UNIT_XML)
    (run_path / "junit" / "e2e.xml").write_text(E2E_XML)
    (run_path / "junit" / "e2e-retry-1.xml").write_text(E2E_RETRY_XML)
    (run_path / "junit" / "uat.xml").write_text("")
    entries = [entry("m::test_quarantined"), entry("m::test_expired", expires=YESTERDAY)]
    outcomes = {"m::test_quarantined": "failed", "m::test_expired": "failed"}
    write_review(run_path, review_quarantine(entries, "unit", outcomes, TODAY))
    results = [
        gate_result("unit-retry-cap", Outcome.FAIL, 1, blocking=True),
        gate_result("unit-tests-stable", Outcome.WARN, 1, blocking=False),
        gate_result("e2e-executed", Outcome.NO_EVIDENCE, None, blocking=True),
    ]
    write_merged_junit(run_path, "staging", results)
    return run_path


def parse_merged(run_path: Path) -> ElementTree.Element:
    return ElementTree.parse(run_path / MERGED_JUNIT).getroot()  # noqa: S314 - the run's own file


def cases_by_name(suite: ElementTree.Element) -> dict[str, ElementTree.Element]:
    return {case.get("name", ""): case for case in suite.iter("testcase")}


def properties_of(case: ElementTree.Element) -> dict[str, str]:
    return {prop.get("name", ""): prop.get("value", "") for prop in case.iter("property")}


def test_merged_junit_has_suites_and_gates(tmp_path: Path) -> None:
    root = parse_merged(merged_run(tmp_path))
    suites = {suite.get("name"): suite for suite in root.findall("testsuite")}
    assert list(suites) == ["e2e", "uat", "unit", "gates"]
    assert root.get("tests") == "10"
    assert root.get("failures") == "3"
    assert root.get("errors") == "1"
    assert root.get("skipped") == "1"


def test_merged_junit_keeps_final_verdicts(tmp_path: Path) -> None:
    root = parse_merged(merged_run(tmp_path))
    unit = root.find("testsuite[@name='unit']")
    e2e = root.find("testsuite[@name='e2e']")
    assert unit is not None and e2e is not None
    assert (unit.get("tests"), unit.get("failures"), unit.get("skipped")) == ("4", "1", "1")
    assert unit.get("time") == "2.750"
    assert cases_by_name(unit)["test_flaky"].find("failure") is None
    assert e2e.get("tests") == "2"
    assert e2e.get("failures") == "0"


def test_merged_junit_marks_quarantine(tmp_path: Path) -> None:
    root = parse_merged(merged_run(tmp_path))
    unit = root.find("testsuite[@name='unit']")
    assert unit is not None
    quarantined = cases_by_name(unit)["test_quarantined"]
    skipped = quarantined.find("skipped")
    assert quarantined.find("failure") is None
    assert skipped is not None
    assert skipped.get("type") == "quarantined"
    assert skipped.get("message") == f"quarantined by dana until {SOON}: races the clock"
    assert skipped.text == "assert 1 == 2"
    assert properties_of(quarantined)["quarantine.owner"] == "dana"
    assert properties_of(quarantined)["quarantine.outcome"] == "failed"

    expired = cases_by_name(unit)["test_expired"]
    assert expired.find("failure") is not None
    assert properties_of(expired)["quarantine"] == f"expired on {YESTERDAY} (owner dana)"


def test_merged_junit_gate_cases(tmp_path: Path) -> None:
    root = parse_merged(merged_run(tmp_path))
    gates = root.find("testsuite[@name='gates']")
    assert gates is not None
    cases = cases_by_name(gates)
    failure = cases["unit-retry-cap"].find("failure")
    assert failure is not None
    assert failure.get("message") == (
        "FAIL: unit.tests.flaky actual 1, threshold <= 0: 1 <= 0 does not hold"
    )
    assert properties_of(cases["unit-retry-cap"])["actual"] == "1"
    assert cases["unit-tests-stable"].find("failure") is None
    assert "WARN: " in (cases["unit-tests-stable"].findtext("system-out") or "")
    no_evidence = cases["e2e-executed"].find("failure")
    assert no_evidence is not None
    assert no_evidence.get("type") == "NO_EVIDENCE"
    assert gates.get("failures") == "2"


def test_merged_junit_shows_unreadable_report(tmp_path: Path) -> None:
    root = parse_merged(merged_run(tmp_path))
    uat = root.find("testsuite[@name='uat']")
    assert uat is not None
    error = uat.find("testcase/error")
    assert error is not None
    assert error.get("message") == "junit/uat.xml: uat.xml is empty"


# Allure


def allure_result(folder: Path, name: str, full_name: str, status: str) -> Path:
    path = folder / f"{name}-result.json"
    data = {"name": name, "fullName": full_name, "status": status, "labels": []}
    path.write_text(json.dumps(data))
    return path


def test_allure_failure_marked_quarantined(tmp_path: Path) -> None:
    failed = allure_result(tmp_path, "test_a[1]", "m.TestC#test_a", "failed")
    passed = allure_result(tmp_path, "test_b", "m#test_b", "passed")
    summaries = {"m.TestC::test_a[1]": "quarantined by dana", "m::test_b": "quarantined by li"}

    assert mark_quarantined(tmp_path, summaries) == {"m.TestC::test_a[1]"}
    assert mark_quarantined(tmp_path, summaries) == {"m.TestC::test_a[1]"}
    data = json.loads(failed.read_text())
    assert data["statusDetails"]["message"] == f"{QUARANTINED_PREFIX}quarantined by dana\n"
    assert data["labels"] == [{"name": "tag", "value": "quarantined"}]
    assert "statusDetails" not in json.loads(passed.read_text())


def test_allure_unmatched_quarantine_gets_result(tmp_path: Path) -> None:
    run = RunFolder.create(tmp_path / "reports", "local", "dev")
    results = run.subdir("allure-results")
    allure_result(results, "test_a", "m#test_a", "failed")
    outcomes = {"m::test_a": "failed", "Scenario: send[api]": "failed"}
    entries = [entry("m::test_a"), entry("Scenario: send[api]", suite="uat")]
    write_review(run.path, review_quarantine(entries[:1], "unit", outcomes, TODAY))
    write_review(run.path, review_quarantine(entries[1:], "uat", outcomes, TODAY))

    write_quarantine_results(results, run.manifest, run.path)

    written = [json.loads(path.read_text()) for path in results.glob("*-result.json")]
    standalone = [data for data in written if data["name"] == "quarantined Scenario: send[api]"]
    assert len(written) == 2
    assert standalone[0]["status"] == "skipped"
    assert standalone[0]["statusDetails"]["message"].startswith(QUARANTINED_PREFIX)
    names = [category["name"] for category in CATEGORIES]
    assert names.index("Quarantined") < names.index("Product defect")


# Real runs of the harness CLI

ALWAYS_FAILS_TEST = """def test_quarantine_demo_fails():
    assert 1 == 2, "this test always fails"


def test_quarantine_demo_passes():
    assert 1 == 1
"""
FAILING_ID = "test_quarantine_demo::test_quarantine_demo_fails"


@pytest.mark.slow
def test_quarantined_failure_passes_gate(project: Project) -> None:
    project.write("suites/unit/test_quarantine_demo.py", ALWAYS_FAILS_TEST)
    today = datetime.date.today()
    text = quarantine_toml(FAILING_ID, today + datetime.timedelta(days=7))
    project.write("quarantine.toml", text + "\n" + quarantine_toml("m::test_gone", today))
    result = project.harness("run", "unit", "--select", "quarantine_demo", "--workers", "0")

    run = project.latest()
    assert gate_outcomes(project.verdict(run))["unit-tests-passed"] == "PASS", result.stdout
    metrics = project.metrics("unit", run)
    assert metrics["unit.tests.failed"]["exact"] == "0"
    assert metrics["unit.tests.quarantined_failed"]["exact"] == "1"
    assert metrics["unit.tests.executed"]["exact"] == "2"
    suite = project.manifest(run)["suites"]["unit"]  # type: ignore[index]
    assert suite["outcome"] == "passed"
    assert f"quarantined failures: {FAILING_ID} (owner dana)" in suite["reason"]
    assert "quarantined test m::test_gone (owner dana) was not in this run" in result.stderr

    record = json.loads((run / "quarantine.json").read_text())["suites"]["unit"]
    assert [test["test"] for test in record["excused"]] == [FAILING_ID]
    assert [test["test"] for test in record["not_run"]] == ["m::test_gone"]
    merged = parse_merged(run)
    unit = merged.find("testsuite[@name='unit']")
    assert unit is not None
    assert (unit.get("tests"), unit.get("failures"), unit.get("skipped")) == ("2", "0", "1")
    allure = [
        json.loads(path.read_text()) for path in (run / "allure-results").glob("*-result.json")
    ]
    marked = [data for data in allure if data.get("name") == "test_quarantine_demo_fails"]
    assert marked[0]["statusDetails"]["message"].startswith(QUARANTINED_PREFIX)


@pytest.mark.slow
def test_expired_quarantine_fails_gate(project: Project) -> None:
    project.write("suites/unit/test_quarantine_demo.py", ALWAYS_FAILS_TEST)
    expired = datetime.date.today() - datetime.timedelta(days=1)
    project.write("quarantine.toml", quarantine_toml(FAILING_ID, expired))
    result = project.harness("run", "unit", "--select", "quarantine_demo", "--workers", "0")

    assert result.returncode == 1, result.stdout + result.stderr
    run = project.latest()
    assert gate_outcomes(project.verdict(run))["unit-tests-passed"] == "FAIL"
    assert project.metrics("unit", run)["unit.tests.failed"]["exact"] == "1"
    suite = project.manifest(run)["suites"]["unit"]  # type: ignore[index]
    assert suite["outcome"] == "failed"
    expected = f"quarantine of {FAILING_ID} (owner dana) expired on {expired}"
    assert expected in suite["reason"]
    assert expected in result.stdout


@pytest.mark.slow
def test_malformed_quarantine_exits_2(project: Project) -> None:
    project.write("quarantine.toml", quarantine_toml(FAILING_ID, datetime.date.today()) + "[[")
    result = project.harness("run", "unit")
    assert_one_line_error(result, "quarantine.toml: invalid TOML")
    assert result.stderr.count("\n") == 1
    assert project.runs() == []


@pytest.mark.slow
def test_quarantine_without_owner_exits_2(project: Project) -> None:
    text = quarantine_toml(FAILING_ID, datetime.date.today()).replace('owner = "dana"\n', "")
    project.write("quarantine.toml", text)
    result = project.harness("run", "unit")
    assert_one_line_error(result, "quarantine.toml: key tests.0.owner: required key is missing")
    assert project.runs() == []


@pytest.mark.slow
def test_retry_cap_fails_on_rerun_pass(project: Project) -> None:
    project.write("suites/unit/test_fails_once.py", FAILS_ONCE_TEST)
    result = project.harness(
        "run",
        "unit",
        "--select",
        "fails_once",
        "--reruns",
        "1",
        "--workers",
        "0",
        "--stage",
        "production",
    )

    assert result.returncode == 1, result.stdout + result.stderr
    run = project.latest()
    outcomes = gate_outcomes(project.verdict(run))
    assert outcomes["unit-tests-passed"] == "PASS"
    assert outcomes["unit-retry-cap"] == "FAIL"
    assert project.metrics("unit", run)["unit.tests.flaky"]["exact"] == "1"
    merged = parse_merged(run)
    cap = merged.find("testsuite[@name='gates']/testcase[@name='unit-retry-cap']/failure")
    assert cap is not None
    assert cap.get("message") == (
        "FAIL: unit.tests.flaky actual 1, threshold == 0: 1 == 0 does not hold"
    )


FAILING_SCENARIO = """Feature: Quarantine demo
  Scenario: Alice sees a room that does not exist
    When alice logs in
    Then alice sees the room "no-such-room"
"""
SCENARIO_ID = "scenarios.test_scenarios::test_alice_sees_a_room_that_does_not_exist[api]"


@pytest.mark.slow
def test_quarantined_scenario_passes_gate(project: Project) -> None:
    project.write("scenarios/quarantine_demo.feature", FAILING_SCENARIO)
    expires = datetime.date.today() + datetime.timedelta(days=7)
    project.write("quarantine.toml", quarantine_toml(SCENARIO_ID, expires, suite="uat"))
    selection = "room_that_does_not_exist or registered_user_logs_in"
    result = project.harness("run", "uat", "--select", selection)

    assert result.returncode == 0, result.stdout + result.stderr
    run = project.latest()
    assert gate_outcomes(project.verdict(run))["uat-scenarios-passed"] == "PASS"
    metrics = project.metrics("uat", run)
    assert metrics["uat.scenarios.failed"]["exact"] == "0"
    assert metrics["uat.scenarios.quarantined_failed"]["exact"] == "1"
    assert metrics["uat.scenarios.executed"]["exact"] == "2"
    allure = [
        json.loads(path.read_text()) for path in (run / "allure-results").glob("*-result.json")
    ]
    standalone = [data for data in allure if data["name"] == f"quarantined {SCENARIO_ID}"]
    assert standalone[0]["status"] == "skipped"


@pytest.mark.slow
def test_quarantined_browser_failures_pass_gate(project: Project) -> None:
    config = project.root / "e2e.toml"
    config.write_text(config.read_text().replace("retries = 1", "retries = 0"))
    expires = datetime.date.today() + datetime.timedelta(days=7)
    entries = [
        quarantine_toml(f"suites.e2e.test_flows::test_assistant_replies[{name}]", expires, "e2e")
        for name in ("chromium", "pixel-7", "iphone-14")
    ]
    project.write("quarantine.toml", "\n".join(entries))
    faults = str(project.root / "sut" / "faults" / "broken-send.toml")
    result = project.harness(
        "run", "e2e", "--faults", faults, "--select", "assistant or installable"
    )

    assert result.returncode == 0, result.stdout + result.stderr
    run = project.latest()
    assert gate_outcomes(project.verdict(run))["e2e-tests-passed"] == "PASS"
    metrics = project.metrics("e2e", run)
    assert metrics["e2e.failed"]["exact"] == "0"
    assert metrics["e2e.quarantined_failed"]["exact"] == "3"
    assert metrics["e2e.executed"]["exact"] == "6"
    reason = project.manifest(run)["suites"]["e2e"]["reason"]  # type: ignore[index]
    assert reason.startswith("all but 3 passed, 0 only on a retry; quarantined failures: ")
    e2e = parse_merged(run).find("testsuite[@name='e2e']")
    assert e2e is not None
    assert (e2e.get("tests"), e2e.get("failures"), e2e.get("skipped")) == ("6", "0", "3")


SECURITY_FINDINGS = {
    "sast_error": "",
    "sast_new_findings": [
        {"severity": "LOW", "test_id": "B404", "path": "a.py", "line": 1},
        {"severity": "HIGH", "test_id": "B602", "path": "b.py", "line": 9},
    ],
    "stale_baseline_entries": [],
    "dast_error": "",
    "probes": [
        {"check": "auth", "subject": "GET /api/me", "passed": True, "detail": "HTTP 401"},
        {"check": "headers", "subject": "GET /", "passed": False, "detail": "no CSP header"},
    ],
    "tls_days_to_expiry": None,
}


def test_merged_junit_shows_security_findings(tmp_path: Path) -> None:
    run_path = tmp_path / "run"
    (run_path / "security").mkdir(parents=True)
    (run_path / "security" / "findings.json").write_text(json.dumps(SECURITY_FINDINGS))
    write_merged_junit(run_path, "dev", [])

    security = parse_merged(run_path).find("testsuite[@name='security']")
    assert security is not None
    assert (security.get("tests"), security.get("failures")) == ("4", "2")
    cases = cases_by_name(security)
    assert cases["GET /api/me"].find("failure") is None
    probe_failure = cases["GET /"].find("failure")
    assert probe_failure is not None
    assert probe_failure.get("message") == "no CSP header"
    sast_failure = cases["findings outside the baseline"].find("failure")
    assert sast_failure is not None
    assert "HIGH B602 b.py:9" in (sast_failure.text or "")
    assert cases["baseline entries current"].find("failure") is None


def test_merged_junit_unreadable_findings_is_error(tmp_path: Path) -> None:
    run_path = tmp_path / "run"
    (run_path / "security").mkdir(parents=True)
    (run_path / "security" / "findings.json").write_text("{not json")
    write_merged_junit(run_path, "dev", [])

    security = parse_merged(run_path).find("testsuite[@name='security']")
    assert security is not None
    assert security.get("errors") == "1"
