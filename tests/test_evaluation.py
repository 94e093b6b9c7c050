"""Gate evaluation: exact comparison, no rounding across a threshold, and fail-closed evidence."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import pytest

from harness.config.gates import GateSpec, Stage
from harness.evaluation import Outcome, evaluate_stage, format_fraction
from harness.metrics import Metric, MetricStore, file_sha256
from harness.runs import RunFolder, RunStatus, SuiteRecord
from harness.verdict import ExitCode, Verdict, decide

COVERAGE_GATE = GateSpec(
    name="coverage", metric="unit.coverage.line_percent", comparison=">=", threshold=90
)


def completed_run(tmp_path: Path, suite: str = "unit") -> RunFolder:
    run = RunFolder.create(tmp_path, "local", "dev")
    run.manifest.build_id = "b1"
    run.manifest.status = RunStatus.COMPLETED
    run.manifest.suites[suite] = SuiteRecord("passed")
    run.save()
    return run


def record(run: RunFolder, name: str, exact: str | None, **overrides: object) -> Path:
    """Store one metric backed by a real evidence file, with any provenance field overridden."""
    evidence = run.subdir("evidence") / f"{name}.txt"
    evidence.write_text(f"evidence for {name}\n")
    fields: dict[str, object] = {
        "name": name,
        "suite": name.split(".")[0],
        "run_id": run.run_id,
        "build_id": run.manifest.build_id,
        "environment": run.manifest.environment,
        "evidence": f"evidence/{name}.txt",
        "evidence_sha256": file_sha256(evidence),
        "exact": exact,
        "value": None if exact is None else float(Fraction(exact)),
        "unknown_reason": "" if exact is not None else "not measured",
    }
    fields.update(overrides)
    MetricStore(run).write(str(fields["suite"]), [Metric(**fields)])  # type: ignore[arg-type]
    return evidence


def evaluate_one(run: RunFolder, gate: GateSpec = COVERAGE_GATE) -> tuple[Outcome, str]:
    [result] = evaluate_stage(Stage(gates=[gate]), run)
    return result.outcome, result.reason


@pytest.mark.parametrize(
    ("covered", "total", "expected"),
    [(8999, 10000, Outcome.FAIL), (8950, 10000, Outcome.FAIL), (9000, 10000, Outcome.PASS)],
)
def test_coverage_decided_from_raw_counts(
    tmp_path: Path, covered: int, total: int, expected: Outcome
) -> None:
    run = completed_run(tmp_path)
    record(run, "unit.coverage.line_percent", str(Fraction(covered * 100, total)))
    outcome, _ = evaluate_one(run)
    assert outcome is expected


def test_printed_figure_never_rounds_up() -> None:
    assert format_fraction(Fraction(8_999_999, 100_000)) == "89.9999…"
    assert format_fraction(Fraction(899_999, 10_000)) == "89.9999"
    assert format_fraction(Fraction(8999, 100)) == "89.99"
    assert format_fraction(Fraction(90)) == "90"
    assert format_fraction(Fraction(1, 3)) == "0.3333…"
    assert format_fraction(Fraction(1, 3), places=2) == "0.33…"


def test_failing_reason_shows_truncated_value(tmp_path: Path) -> None:
    run = completed_run(tmp_path)
    record(run, "unit.coverage.line_percent", str(Fraction(8_999_999, 100_000)))
    outcome, reason = evaluate_one(run)
    assert outcome is Outcome.FAIL
    assert reason.startswith("89.9999… >= 90")


def test_warning_gate_yields_warn(tmp_path: Path) -> None:
    run = completed_run(tmp_path)
    record(run, "unit.coverage.line_percent", "80")
    gate = COVERAGE_GATE.model_copy(update={"blocking": False})
    outcome, _ = evaluate_one(run, gate)
    assert outcome is Outcome.WARN


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"build_id": "b0"}, "from build b0, not b1"),
        ({"environment": "staging"}, "from environment staging, not local"),
        ({"run_id": "20200101T000000Z-aaaaaa"}, "from run 20200101T000000Z-aaaaaa"),
        ({"exact": None, "unknown_reason": "not measured"}, "unknown: not measured"),
        ({"evidence_sha256": "0" * 64}, "changed after"),
        (
            {"evidence": "evidence/gone.txt"},
            "evidence/gone.txt of unit.coverage.line_percent is missing",
        ),
    ],
)
def test_untrusted_metric_is_no_evidence(
    tmp_path: Path, overrides: dict[str, object], reason: str
) -> None:
    run = completed_run(tmp_path)
    fields = {"exact": "95", **overrides}
    record(run, "unit.coverage.line_percent", **fields)  # type: ignore[arg-type]
    outcome, message = evaluate_one(run)
    assert outcome is Outcome.NO_EVIDENCE
    assert reason in message


def test_missing_metric_names_suite_outcome(tmp_path: Path) -> None:
    run = completed_run(tmp_path)
    run.manifest.suites["unit"] = SuiteRecord("error", reason="pytest crashed")
    outcome, reason = evaluate_one(run)
    assert outcome is Outcome.NO_EVIDENCE
    assert "suite unit ended error (pytest crashed)" in reason


def test_suite_that_did_not_run(tmp_path: Path) -> None:
    run = completed_run(tmp_path, suite="uat")
    outcome, reason = evaluate_one(run)
    assert outcome is Outcome.NO_EVIDENCE
    assert "suite unit did not run" in reason


def test_interrupted_run_fails_every_gate(tmp_path: Path) -> None:
    run = completed_run(tmp_path)
    record(run, "unit.coverage.line_percent", "95")
    run.manifest.status = RunStatus.INTERRUPTED
    outcome, reason = evaluate_one(run)
    assert outcome is Outcome.NO_EVIDENCE
    assert "interrupted" in reason


@pytest.mark.parametrize("content", ["", "{not json", json.dumps({"metrics": [{"name": "x"}]})])
def test_unreadable_metrics_file(tmp_path: Path, content: str) -> None:
    run = completed_run(tmp_path)
    (run.subdir("metrics") / "unit.json").write_text(content)
    outcome, reason = evaluate_one(run)
    assert outcome is Outcome.NO_EVIDENCE
    assert "unit.json is unreadable" in reason


def test_verdict_pass_warn_fail(tmp_path: Path) -> None:
    run = completed_run(tmp_path)
    record(run, "unit.coverage.line_percent", "85")
    blocking = evaluate_stage(Stage(gates=[COVERAGE_GATE]), run)
    warning_gate = COVERAGE_GATE.model_copy(update={"blocking": False})
    warning = evaluate_stage(Stage(gates=[warning_gate]), run)
    relaxed = COVERAGE_GATE.model_copy(update={"threshold": 80})
    passing = evaluate_stage(Stage(gates=[relaxed]), run)

    assert decide(blocking, "dev").verdict is Verdict.FAIL
    assert decide(warning, "dev").verdict is Verdict.WARN
    assert decide(passing, "dev").verdict is Verdict.PASS
    assert Verdict.WARN.exit_code is ExitCode.PASSED
    assert Verdict.FAIL.exit_code is ExitCode.FAILED


def test_no_gates_is_fail(tmp_path: Path) -> None:
    report = decide([], "stage dev for suites uat")
    assert report.verdict is Verdict.FAIL
    assert "no gates apply" in report.reason


def test_gates_filtered_by_suite(tmp_path: Path) -> None:
    run = completed_run(tmp_path)
    uat_gate = GateSpec(name="u", metric="uat.scenarios.failed", comparison="==", threshold=0)
    results = evaluate_stage(Stage(gates=[COVERAGE_GATE, uat_gate]), run, {"uat"})
    assert [result.gate.name for result in results] == ["u"]


def test_verdict_files_written(tmp_path: Path) -> None:
    run = completed_run(tmp_path)
    record(run, "unit.coverage.line_percent", "95")
    report = decide(evaluate_stage(Stage(gates=[COVERAGE_GATE]), run), "dev")
    report.write(run.path, "dev")
    data = json.loads((run.path / "verdict.json").read_text())
    markdown = (run.path / "verdict.md").read_text()
    assert data["verdict"] == "PASS"
    assert data["gates"][0]["actual"] == "95"
    assert "| coverage | unit.coverage.line_percent | 95 | >= 90 | PASS |" in markdown
    assert "coverage  95" in report.table()
