"""The unit suite's evidence: Cobertura totals, reruns in JUnit, per-process coverage data."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import pytest

from harness.config.gates import Stage
from harness.evaluation import Outcome, evaluate_stage, format_fraction
from harness.evidence.allure import mark_flaky_retries
from harness.evidence.cobertura import parse_cobertura
from harness.evidence.junit import EvidenceError, JUnitCounts, parse_junit
from harness.metrics import MetricStore
from harness.runners.base import RunContext, SuiteOutcome, classify_pytest, metric_from
from harness.runners.unit_coverage import CoverageFiles, CoverageProblem, ProcessRecord
from harness.target import Deployment
from tests.test_evaluation import COVERAGE_GATE, completed_run

COBERTURA = (
    '<coverage lines-valid="{total}" lines-covered="{covered}"{branches}><packages/></coverage>'
)


def write_cobertura(tmp_path: Path, covered: int, total: int, branches: str = "") -> Path:
    path = tmp_path / "coverage.xml"
    path.write_text(COBERTURA.format(covered=covered, total=total, branches=branches))
    return path


@pytest.mark.parametrize(
    ("covered", "expected", "shown"),
    [(8999, Outcome.FAIL, "89.99"), (8950, Outcome.FAIL, "89.5"), (9000, Outcome.PASS, "90")],
)
def test_gate_decided_from_report_counts(
    tmp_path: Path, covered: int, expected: Outcome, shown: str
) -> None:
    run = completed_run(tmp_path)
    report = write_cobertura(run.subdir("coverage"), covered, 10_000)
    totals = parse_cobertura(report)
    context = RunContext(tmp_path, run, None, tmp_path, Deployment("", "", "b1", ""))  # type: ignore[arg-type]
    values = {"unit.coverage.line_percent": totals.line_percent}
    MetricStore(run).write("unit", metric_from(context, "unit", report, values))

    [result] = evaluate_stage(Stage(gates=[COVERAGE_GATE]), run)
    assert result.outcome is expected
    assert result.actual == Fraction(covered, 100)
    assert format_fraction(totals.line_percent) == shown


def test_branch_totals_read(tmp_path: Path) -> None:
    branches = ' branches-valid="8" branches-covered="6"'
    totals = parse_cobertura(write_cobertura(tmp_path, 3, 4, branches))
    assert totals.has_branches
    assert totals.branch_percent == 75
    assert not parse_cobertura(write_cobertura(tmp_path, 3, 4)).has_branches


def test_lines_counted_without_totals(tmp_path: Path) -> None:
    path = tmp_path / "coverage.xml"
    line = '<line number="{}" hits="{}"/>'
    lines = "".join(line.format(number, hits) for number, hits in [(1, 1), (2, 0), (3, 2)])
    classes = f'<class filename="a.py"><lines>{lines}</lines></class>'
    path.write_text(
        f"<coverage><packages><package><classes>{classes}{classes}</classes>"
        "</package></packages></coverage>"
    )
    totals = parse_cobertura(path)
    assert (totals.lines_covered, totals.lines_valid) == (2, 3)


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (None, "missing"),
        ("<coverage", "not valid XML"),
        ("<report/>", "not Cobertura XML"),
        ('<coverage lines-valid="0" lines-covered="0"/>', "measured no statements"),
        ('<coverage lines-valid="ten" lines-covered="1"/>', "not an integer"),
        ('<coverage lines-valid="5" lines-covered="6"/>', "claims 6 of 5"),
    ],
)
def test_bad_cobertura_raises(tmp_path: Path, content: str | None, reason: str) -> None:
    path = tmp_path / "coverage.xml"
    if content is not None:
        path.write_text(content)
    with pytest.raises(EvidenceError, match=reason):
        parse_cobertura(path)


RERUN_REPORT = """<testsuites><testsuite name="unit">
  <testcase classname="m" name="test_flaky"/>
  <testcase classname="m" name="test_flaky"><properties>
    <property name="reruns" value="1"/></properties></testcase>
  <testcase classname="m" name="test_broken"/>
  <testcase classname="m" name="test_broken"><failure message="again"/></testcase>
  <testcase classname="m" name="test_steady"/>
  <testcase classname="m" name="test_single_record"><properties>
    <property name="reruns" value="2"/></properties></testcase>
</testsuite></testsuites>
"""


def test_reruns_counted_once(tmp_path: Path) -> None:
    path = tmp_path / "unit.xml"
    path.write_text(RERUN_REPORT)
    counts = parse_junit(path)
    assert counts.total == 4
    assert counts.passed == 3
    assert counts.failed == 1
    assert counts.failed_ids == ("m::test_broken",)
    assert counts.flaky_ids == ("m::test_flaky", "m::test_single_record")


THREE_PASSED = JUnitCounts(3, 3, 0, 0, 0)


@pytest.mark.parametrize(
    ("exit_code", "collected", "incomplete", "outcome", "reason"),
    [
        (0, 3, "", SuiteOutcome.PASSED, "3 of 3 passed"),
        (0, 4, "", SuiteOutcome.ERROR, "4 tests were collected but the report holds 3"),
        (0, 3, "coverage data of gw1 is missing", SuiteOutcome.ERROR, "but coverage data of gw1"),
        (None, None, "", SuiteOutcome.PASSED, "3 of 3 passed"),
    ],
)
def test_classify_with_collected_and_coverage(
    exit_code: int | None,
    collected: int | None,
    incomplete: str,
    outcome: SuiteOutcome,
    reason: str,
) -> None:
    actual, message = classify_pytest(exit_code, THREE_PASSED, collected, incomplete)
    assert actual is outcome
    assert reason in message


def test_ingested_report_without_exit_code() -> None:
    outcome, reason = classify_pytest(None, JUnitCounts(3, 2, 1, 0, 0))
    assert outcome is SuiteOutcome.FAILED
    assert reason == "1 of 3 failed"
    outcome, reason = classify_pytest(None, EvidenceError("no JUnit report to ingest"))
    assert outcome is SuiteOutcome.NO_EVIDENCE
    assert reason == "no JUnit report to ingest"


def test_failed_run_keeps_coverage_problem_in_reason() -> None:
    counts = JUnitCounts(3, 2, 1, 0, 0)
    outcome, reason = classify_pytest(1, counts, 3, "coverage data of gw0 is missing")
    assert outcome is SuiteOutcome.FAILED
    assert reason == "1 of 3 failed; coverage data of gw0 is missing"


def coverage_files(tmp_path: Path) -> CoverageFiles:
    folder = tmp_path / "coverage"
    folder.mkdir()
    return CoverageFiles(folder, tmp_path / "unit.log")


def test_missing_worker_data_named(tmp_path: Path) -> None:
    files = coverage_files(tmp_path)
    (files.folder / "unit.coverage.vm.pid100.XabcDEFx").write_bytes(b"")
    (files.folder / "unit.coverage.vm.pid101.XabcDEFx.Habcdefghijh").write_bytes(b"")
    present = [ProcessRecord("controller", 100), ProcessRecord("gw0", 101)]
    files.check_processes(present)

    with pytest.raises(CoverageProblem) as caught:
        files.check_processes([*present, ProcessRecord("gw1", 102)])
    assert "coverage data of gw1 (pid 102) is missing" in str(caught.value)


def test_no_process_records_is_problem(tmp_path: Path) -> None:
    with pytest.raises(CoverageProblem, match="no pytest process"):
        coverage_files(tmp_path).check_processes([])


def test_nothing_to_combine(tmp_path: Path) -> None:
    files = coverage_files(tmp_path)
    with pytest.raises(CoverageProblem, match="nothing to combine"):
        files.combine({}, tmp_path)
    with pytest.raises(CoverageProblem, match="is missing"):
        files.report({}, tmp_path)


def test_process_records_read(tmp_path: Path) -> None:
    (tmp_path / "process-gw0-7.json").write_text(json.dumps({"process": "gw0", "pid": 7}))
    assert ProcessRecord.read_all(tmp_path) == [ProcessRecord("gw0", 7)]


def allure_result(directory: Path, name: str, history: str, status: str, stop: int) -> Path:
    path = directory / f"{name}-result.json"
    path.write_text(json.dumps({"historyId": history, "status": status, "stop": stop}))
    return path


def test_allure_retry_marked_flaky(tmp_path: Path) -> None:
    allure_result(tmp_path, "a1", "flaky", "failed", 1)
    last = allure_result(tmp_path, "a2", "flaky", "passed", 2)
    allure_result(tmp_path, "b1", "broken", "passed", 1)
    still_failing = allure_result(tmp_path, "b2", "broken", "failed", 2)
    steady = allure_result(tmp_path, "c1", "steady", "passed", 1)
    (tmp_path / "d-result.json").write_text("{not json")

    assert mark_flaky_retries(tmp_path) == 1
    assert json.loads(last.read_text())["statusDetails"] == {"flaky": True}
    assert "statusDetails" not in json.loads(still_failing.read_text())
    assert "statusDetails" not in json.loads(steady.read_text())
