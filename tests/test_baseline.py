"""Baseline gates: limits relative to the last promoted build, and when builds do not compare."""

from __future__ import annotations

import datetime
import json
from fractions import Fraction
from pathlib import Path

import pytest

from harness.baseline import BaselineUnavailable, find_baseline
from harness.config.gates import BaselineSpec, GatesFile, GateSpec, Stage, load_gates
from harness.errors import UsageError
from harness.evaluation import GateResult, Outcome, evaluate_stage
from harness.fingerprint import fingerprint_differences, read_fingerprint, write_fingerprint
from harness.metrics import Metric, MetricStore, file_sha256
from harness.promotion import promote
from harness.reporting.allure import gate_result_json
from harness.runs import RunFolder, RunStatus, SuiteRecord
from harness.verdict import Verdict, decide, result_as_json
from tests.conftest import Project, add_acceptance_stages, gate_outcomes

STAGE = "release"
PASSED_GATE = GateSpec(
    name="uat-passed-kept",
    metric="uat.scenarios.passed",
    baseline=BaselineSpec(max_decrease_percent=10),
)
P95_GATE = GateSpec(
    name="load-p95-rise",
    metric="load.smoke.p95_ms",
    baseline=BaselineSpec(max_increase_percent="2.5"),
)
TESTS = ["scenarios::login", "scenarios::send", "scenarios::read"]


# Configuration


@pytest.mark.parametrize(
    ("gate", "key", "reason"),
    [
        (
            "comparison = '<'\nthreshold = 1\nbaseline = { max_increase_percent = 10 }",
            "comparison",
            "a baseline gate takes no comparison",
        ),
        ("threshold = 1\nbaseline = { max_increase_percent = 10 }", "threshold", "takes no"),
        (
            "abort_after_s = 5\nbaseline = { max_increase_percent = 10 }",
            "abort_after_s",
            "takes no abort_after_s",
        ),
        (
            "baseline = { max_increase_percent = 10, max_decrease_percent = 0 }",
            "baseline",
            "exactly one of",
        ),
        ("baseline = { on_missing = 'warn' }", "baseline", "exactly one of"),
        ("baseline = { max_increase_percent = -1 }", "baseline.max_increase_percent", "negative"),
        ("baseline = { max_decrease_percent = 101 }", "baseline.max_decrease_percent", "over 100"),
        ("baseline = { max_increase_percent = 'ten' }", "baseline.max_increase_percent", "not a"),
        ("threshold = 1", "comparison", "required key is missing"),
        ("comparison = '<'", "threshold", "required key is missing"),
    ],
)
def test_invalid_baseline_gate_names_stage_gate_key(
    tmp_path: Path, gate: str, key: str, reason: str
) -> None:
    path = tmp_path / "gates.toml"
    path.write_text(
        f"[stages.peak]\n[[stages.peak.gates]]\nname = 'g'\nmetric = 'load.x.p95_ms'\n{gate}\n"
    )
    with pytest.raises(UsageError) as caught:
        load_gates(path)
    message = caught.value.message()
    assert f"key stages.peak.gates.0.{key}: gate 'g'" in message
    assert reason in message


def test_unknown_on_missing_rejected(tmp_path: Path) -> None:
    path = tmp_path / "gates.toml"
    gate = "baseline = { max_increase_percent = 1, on_missing = 'pass' }"
    path.write_text(
        f"[stages.peak]\n[[stages.peak.gates]]\nname = 'g'\nmetric = 'load.x.y'\n{gate}\n"
    )
    with pytest.raises(UsageError) as caught:
        load_gates(path)
    assert "stages.peak.gates.0.baseline.on_missing" in caught.value.message()


def test_ci_stages_have_no_blocking_baselines() -> None:
    gates = load_gates(Path(__file__).resolve().parent.parent / "gates.toml")
    for name in ("dev", "device", "performance"):
        blocking = [g.name for g in gates.stages[name].gates if g.baseline and g.blocking]
        assert blocking == [], name
    assert any(gate.baseline for gate in gates.stages["production"].gates)


# Comparison math


@pytest.mark.parametrize(
    ("spec", "baseline", "limit"),
    [
        (BaselineSpec(max_increase_percent=10), Fraction(100), Fraction(110)),
        (BaselineSpec(max_increase_percent="2.5"), Fraction(200), Fraction(205)),
        (BaselineSpec(max_increase_percent=0.1), Fraction(1000), Fraction(1001)),
        (BaselineSpec(max_decrease_percent=0), Fraction(9001, 100), Fraction(9001, 100)),
        (BaselineSpec(max_decrease_percent=5), Fraction(1, 3), Fraction(19, 60)),
        (BaselineSpec(max_increase_percent=10), Fraction(0), Fraction(0)),
    ],
)
def test_limit_is_exact(spec: BaselineSpec, baseline: Fraction, limit: Fraction) -> None:
    assert spec.limit(baseline) == limit


def test_limit_holds_at_boundary() -> None:
    rise = BaselineSpec(max_increase_percent=10)
    drop = BaselineSpec(max_decrease_percent=0)
    assert rise.holds(Fraction(110), Fraction(110))
    assert not rise.holds(Fraction(110) + Fraction(1, 10**9), Fraction(110))
    assert drop.holds(Fraction(90), Fraction(90))
    assert not drop.holds(Fraction(90) - Fraction(1, 10**9), Fraction(90))
    assert rise.describe() == "baseline +10% at most"
    assert drop.describe() == "baseline -0% at most"


# Fingerprint differences


def fingerprint(**changes: object) -> dict[str, object]:
    base: dict[str, object] = {
        "environment": "local",
        "tool_versions": {"python": "3.11.9", "locust": "2.47.0"},
        "load_profiles": {"smoke": "a" * 64},
        "suites": {"uat": {"tests": TESTS}, "load": {"tests": None, "unknown_reason": "no JUnit"}},
    }
    base.update(changes)
    return base


def test_identical_fingerprints_compare() -> None:
    assert fingerprint_differences(fingerprint(), fingerprint(), "uat", "b1") == []
    assert fingerprint_differences(fingerprint(), fingerprint(), "load", "b1") == []


def test_tool_version_difference_named() -> None:
    current = fingerprint(tool_versions={"python": "3.11.9", "locust": "2.48.0", "bandit": "1.8"})
    [difference] = fingerprint_differences(current, fingerprint(), "load", "b1")
    assert difference == "tool versions differ: locust 2.47.0 -> 2.48.0"


def test_other_suites_tools_ignored() -> None:
    # A uat gate does not depend on Locust or bandit, which another nox session may lack.
    current = fingerprint(tool_versions={"python": "3.11.9", "bandit": "1.8"})
    assert fingerprint_differences(current, fingerprint(), "uat", "b1") == []
    newer_python = fingerprint(tool_versions={"python": "3.12.1", "locust": "2.47.0"})
    [difference] = fingerprint_differences(newer_python, fingerprint(), "uat", "b1")
    assert difference == "tool versions differ: python 3.11.9 -> 3.12.1"


def test_test_set_difference_counted() -> None:
    current = fingerprint(suites={"uat": {"tests": [*TESTS[1:], "scenarios::a", "scenarios::b"]}})
    [difference] = fingerprint_differences(current, fingerprint(), "uat", "b1")
    assert "test set of uat differs from baseline build b1: 2 added, 1 removed" in difference
    assert "scenarios::a" in difference


def test_unknown_test_set_named() -> None:
    current = fingerprint(suites={"uat": {"tests": None, "unknown_reason": "uat.xml is empty"}})
    assert fingerprint_differences(current, fingerprint(), "uat", "b1") == [
        "test set of uat unknown in this run: uat.xml is empty"
    ]
    assert fingerprint_differences(fingerprint(), current, "uat", "b1") == [
        "test set of uat unknown in baseline build b1: uat.xml is empty"
    ]


def test_load_profile_difference_named() -> None:
    changed = fingerprint(load_profiles={"smoke": "b" * 64})
    other = fingerprint(load_profiles={"peak": "a" * 64})
    assert fingerprint_differences(changed, fingerprint(), "load", "b1") == [
        "load profile smoke changed since baseline build b1"
    ]
    assert fingerprint_differences(other, fingerprint(), "load", "b1") == [
        "load profile peak did not run in baseline build b1"
    ]
    # The test set of another suite does not matter to a load gate.
    assert fingerprint_differences(changed, fingerprint(), "uat", "b1") == []


def test_environment_difference_named() -> None:
    current = fingerprint(environment="staging")
    assert fingerprint_differences(current, fingerprint(), "uat", "b1") == [
        "environment differs: local -> staging"
    ]


# Evaluation against a promoted run, in process


def junit_text(tests: list[str]) -> str:
    cases = "".join(
        f'<testcase classname="{test.split("::")[0]}" name="{test.split("::")[1]}"/>'
        for test in tests
    )
    return f'<testsuites><testsuite name="pytest">{cases}</testsuite></testsuites>\n'


def store_metric(run: RunFolder, name: str, exact: str, evidence: str) -> None:
    path = run.path / evidence
    metric = Metric(
        name=name,
        suite=name.split(".")[0],
        run_id=run.run_id,
        build_id=run.manifest.build_id,
        environment=run.manifest.environment,
        evidence=evidence,
        evidence_sha256=file_sha256(path),
        exact=exact,
        value=float(Fraction(exact)),
    )
    existing, _ = MetricStore(run).read_all()
    same_suite = [m for m in existing.values() if m.suite == metric.suite]
    MetricStore(run).write(metric.suite, [*same_suite, metric])


def make_run(
    root: Path, build: str, passed: str = "3", p95: str = "100", tests: list[str] = TESTS
) -> RunFolder:
    """A completed run with uat and load metrics and its fingerprint, as a real run leaves it."""
    run = RunFolder.create(root / "reports", "local", STAGE)
    run.manifest.build_id = build
    run.manifest.status = RunStatus.COMPLETED
    run.manifest.suites.update(uat=SuiteRecord("passed"), load=SuiteRecord("passed"))
    run.save()
    (run.subdir("junit") / "uat.xml").write_text(junit_text(tests))
    (run.subdir("load") / "result.json").write_text("{}\n")
    store_metric(run, "uat.scenarios.passed", passed, "junit/uat.xml")
    store_metric(run, "load.smoke.p95_ms", p95, "load/result.json")
    write_fingerprint(run, root)
    return run


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "suites" / "load").mkdir(parents=True)
    (tmp_path / "suites" / "load" / "smoke.toml").write_text("users = 50\n")
    (tmp_path / "gates.toml").write_text("[stages.release]\ngates = []\n")
    return tmp_path


def promote_run(root: Path, run: RunFolder, gates: list[GateSpec] | None = None) -> Path:
    stages = GatesFile(stages={STAGE: Stage(gates=gates or [PASSED_GATE, P95_GATE])})
    warned = GateSpec(
        name="uat-passed-kept",
        metric="uat.scenarios.passed",
        baseline=BaselineSpec(max_decrease_percent=10, on_missing="warn"),
    )
    if gates is None and not (root / "reports" / "ledger.jsonl").exists():
        stages = GatesFile(stages={STAGE: Stage(gates=[warned])})
    result = promote(run, stages, root / "gates.toml", STAGE, [], datetime.date.today())
    return result.record_path


def evaluate(run: RunFolder, *gates: GateSpec) -> dict[str, GateResult]:
    results = evaluate_stage(Stage(gates=list(gates or (PASSED_GATE, P95_GATE))), run)
    return {result.gate.name: result for result in results}


def test_first_promotion_needs_on_missing_warn(root: Path) -> None:
    run = make_run(root, "b1")
    strict = evaluate(run)["uat-passed-kept"]
    assert strict.outcome is Outcome.INCOMPARABLE
    assert strict.reason == "no build promoted to stage release on environment local yet"
    assert strict.blocks

    record = json.loads(promote_run(root, run).read_text())
    assert record["verdict"] == "WARN"
    assert record["metrics"]["uat.scenarios.passed"] == "3"
    assert record["fingerprint"] == read_fingerprint(run.path)
    assert "fingerprint.json" in record["evidence"]
    [gate] = record["gates"]
    assert gate["outcome"] == "INCOMPARABLE"
    assert gate["tolerated"] is True
    assert 'on_missing = "warn" lets this build through' in gate["reason"]


def test_within_limit_passes_with_values(root: Path) -> None:
    promote_run(root, make_run(root, "b1", passed="10", p95="200"))
    results = evaluate(make_run(root, "b2", passed="9", p95="205"))

    passed, p95 = results["uat-passed-kept"], results["load-p95-rise"]
    assert passed.outcome is Outcome.PASS
    assert passed.reason == "9 >= 9 (baseline build b1: 10, baseline -10% at most) holds"
    assert p95.outcome is Outcome.PASS
    assert p95.baseline is not None
    assert (p95.baseline.build_id, p95.baseline.value, p95.baseline.limit) == ("b1", 200, 205)


def test_regression_fails_with_values(root: Path) -> None:
    promote_run(root, make_run(root, "b1", p95="200"))
    result = evaluate(make_run(root, "b2", p95="2050001/10000"))["load-p95-rise"]
    assert result.outcome is Outcome.FAIL
    assert result.reason == (
        "205.0001 <= 205 (baseline build b1: 200, baseline +2.5% at most) does not hold"
    )

    warning_gate = P95_GATE.model_copy(update={"blocking": False})
    assert (
        evaluate(make_run(root, "b3", p95="206"), warning_gate)["load-p95-rise"].outcome
        is Outcome.WARN
    )


def test_newest_promotion_is_baseline(root: Path) -> None:
    promote_run(root, make_run(root, "b1", p95="100"))
    promote_run(root, make_run(root, "b2", p95="102"))
    # 104 is within 2.5% of b2's 102, but not of b1's 100.
    current = make_run(root, "b3", p95="104")
    result = evaluate(current)["load-p95-rise"]
    assert result.baseline is not None
    assert result.baseline.build_id == "b2"
    assert result.outcome is Outcome.PASS


def test_other_stage_or_environment_is_no_baseline(root: Path) -> None:
    promote_run(root, make_run(root, "b1"))
    run = make_run(root, "b2")
    [result] = evaluate_stage(Stage(gates=[PASSED_GATE]), run, stage_name="production")
    assert result.outcome is Outcome.INCOMPARABLE
    assert "no build promoted to stage production on environment local yet" in result.reason
    with pytest.raises(BaselineUnavailable) as caught:
        find_baseline(run.path, "staging", STAGE)
    assert caught.value.missing


def test_changed_test_set_is_incomparable(root: Path) -> None:
    promote_run(root, make_run(root, "b1"))
    result = evaluate(make_run(root, "b2", tests=TESTS[:2]))["uat-passed-kept"]
    assert result.outcome is Outcome.INCOMPARABLE
    assert "test set of uat differs from baseline build b1: 0 added, 1 removed" in result.reason
    assert result.baseline is not None
    assert result.baseline.value is None


def test_changed_load_profile_is_incomparable(root: Path) -> None:
    promote_run(root, make_run(root, "b1"))
    (root / "suites" / "load" / "smoke.toml").write_text("users = 60\n")
    results = evaluate(make_run(root, "b2"))
    assert results["load-p95-rise"].outcome is Outcome.INCOMPARABLE
    assert results["load-p95-rise"].reason == "load profile smoke changed since baseline build b1"
    assert results["uat-passed-kept"].outcome is Outcome.PASS


def test_changed_tool_version_is_incomparable(root: Path) -> None:
    promote_run(root, make_run(root, "b1"))
    run = make_run(root, "b2")
    data = read_fingerprint(run.path)
    data["tool_versions"] = {**data["tool_versions"], "locust": "0.0.1"}  # type: ignore[dict-item]
    (run.path / "fingerprint.json").write_text(json.dumps(data))
    result = evaluate(run)["load-p95-rise"]
    assert result.outcome is Outcome.INCOMPARABLE
    assert "tool versions differ: locust " in result.reason
    assert "-> 0.0.1" in result.reason


def test_tampered_record_not_used(root: Path) -> None:
    record = promote_run(root, make_run(root, "b1", passed="30"))
    record.chmod(0o644)
    record.write_text(
        record.read_text().replace('"uat.scenarios.passed": "30"', '"uat.scenarios.passed": "3"')
    )
    result = evaluate(make_run(root, "b2"))["uat-passed-kept"]
    assert result.outcome is Outcome.INCOMPARABLE
    assert f"promotion record {record} of baseline build b1 changed after its promotion" in (
        result.reason
    )

    record.unlink()
    result = evaluate(make_run(root, "b3"))["uat-passed-kept"]
    assert result.reason == f"promotion record {record} of baseline build b1 is missing"


def test_broken_ledger_chain_not_used(root: Path) -> None:
    promote_run(root, make_run(root, "b1"))
    promote_run(root, make_run(root, "b2"))
    ledger = root / "reports" / "ledger.jsonl"
    ledger.write_text(ledger.read_text().replace('"build_id": "b1"', '"build_id": "b0"'))
    result = evaluate(make_run(root, "b3"))["uat-passed-kept"]
    assert result.outcome is Outcome.INCOMPARABLE
    assert "does not verify: ledger line 2 does not follow line 1: chain broken" in result.reason


def test_ledger_line_not_json_not_used(root: Path) -> None:
    promote_run(root, make_run(root, "b1"))
    ledger = root / "reports" / "ledger.jsonl"
    ledger.write_text("[]\n" + ledger.read_text())
    result = evaluate(make_run(root, "b2"))["uat-passed-kept"]
    assert result.outcome is Outcome.INCOMPARABLE
    assert "does not verify: ledger line 1 does not follow line 0" in result.reason

    ledger.write_text("{not json\n")
    result = evaluate(make_run(root, "b3"))["uat-passed-kept"]
    assert "does not verify: ledger line 1 is not valid JSON" in result.reason


def test_run_is_not_its_own_baseline(root: Path) -> None:
    run = make_run(root, "b1")
    promote_run(root, run)
    result = evaluate(run)["uat-passed-kept"]
    assert result.outcome is Outcome.INCOMPARABLE
    assert result.reason == "no build promoted to stage release on environment local yet"


def rewrite_record(root: Path, record: Path, text: str) -> None:
    """Replace a record and re-chain its ledger line, as if it had been promoted that way."""
    record.chmod(0o644)
    record.write_text(text)
    ledger = root / "reports" / "ledger.jsonl"
    entry = json.loads(ledger.read_text())
    entry["record_sha256"] = file_sha256(record)
    ledger.write_text(json.dumps(entry, sort_keys=True) + "\n")


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"metrics": None}, "holds no metric values; it was written before baseline gates existed"),
        ({"fingerprint": None}, "holds no fingerprint; its run wrote no fingerprint.json"),
        (
            {"metrics": {"uat.scenarios.passed": "x"}},
            "has an invalid value of uat.scenarios.passed: 'x'",
        ),
    ],
)
def test_incomplete_record_not_used(root: Path, change: dict[str, object], reason: str) -> None:
    record = promote_run(root, make_run(root, "b1"))
    rewrite_record(root, record, json.dumps({**json.loads(record.read_text()), **change}))
    result = evaluate(make_run(root, "b2"))["uat-passed-kept"]
    assert result.outcome is Outcome.INCOMPARABLE
    assert reason in result.reason


def test_unreadable_record_not_used(root: Path) -> None:
    record = promote_run(root, make_run(root, "b1"))
    rewrite_record(root, record, "{not json")
    result = evaluate(make_run(root, "b2"))["uat-passed-kept"]
    assert result.outcome is Outcome.INCOMPARABLE
    assert f"promotion record {record} of baseline build b1 is unreadable" in result.reason


def test_metric_missing_from_baseline(root: Path) -> None:
    promote_run(root, make_run(root, "b1"))
    gate = GateSpec(
        name="uat-executed-kept",
        metric="uat.scenarios.passed",
        labels={"channel": "web"},
        baseline=BaselineSpec(max_decrease_percent=0),
    )
    run = make_run(root, "b2")
    metric = MetricStore(run).read_all()[0]["uat.scenarios.passed"]
    MetricStore(run).write(
        "uat", [metric, Metric(**{**metric.__dict__, "labels": {"channel": "web"}})]
    )
    result = evaluate(run, gate)["uat-executed-kept"]
    assert result.outcome is Outcome.INCOMPARABLE
    assert result.reason == 'baseline build b1 has no value of uat.scenarios.passed{channel="web"}'


def test_missing_fingerprint_is_no_evidence(root: Path) -> None:
    promote_run(root, make_run(root, "b1"))
    run = make_run(root, "b2")
    (run.path / "fingerprint.json").unlink()
    result = evaluate(run)["uat-passed-kept"]
    assert result.outcome is Outcome.NO_EVIDENCE
    assert f"fingerprint.json of run {run.run_id} is missing" in result.reason


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("{not json", "fingerprint.json is unreadable"),
        ("[]", "fingerprint.json is not a JSON object"),
        ('{"environment": "staging"}', "fingerprint.json is from environment staging, not local"),
    ],
)
def test_untrusted_fingerprint_is_no_evidence(root: Path, text: str, reason: str) -> None:
    run = make_run(root, "b2")
    (run.path / "fingerprint.json").write_text(text)
    result = evaluate(run)["uat-passed-kept"]
    assert result.outcome is Outcome.NO_EVIDENCE
    assert reason in result.reason


def test_reports_show_baseline_values(root: Path) -> None:
    promote_run(root, make_run(root, "b1", p95="200"))
    run = make_run(root, "b2", p95="300")
    results = list(evaluate(run).values())
    report = decide(results, "stage release")
    assert report.verdict is Verdict.FAIL

    p95 = result_as_json(results[1])
    assert p95["baseline"] == {
        "max_increase_percent": "5/2",
        "max_decrease_percent": None,
        "on_missing": "fail",
        "build_id": "b1",
        "run_id": p95["baseline"]["run_id"],  # type: ignore[index]
        "value": "200",
        "value_display": "200",
        "limit": "205",
        "limit_display": "205",
    }
    assert p95["comparison"] is None
    assert "<= 205 (baseline +2.5% at most, build b1)" in report.table()
    assert "| load-p95-rise | load.smoke.p95_ms | 300 | <= 205 (baseline" in report.markdown(STAGE)

    allure = gate_result_json(run.manifest, results[1], 0)
    parameters = {p["name"]: p["value"] for p in allure["parameters"]}  # type: ignore[attr-defined]
    assert parameters["baseline build"] == "b1"
    assert parameters["baseline value"] == "200"
    assert parameters["limit"] == "205"
    assert allure["name"] == "gate load-p95-rise: load.smoke.p95_ms baseline +2.5% at most"


# The real CLI in a project copy

BASELINE_STAGE = """
[stages.kept]
description = "Acceptance scenarios, and no fewer passing than in the last promoted build"

[[stages.kept.gates]]
name = "uat-scenarios-executed"
metric = "uat.scenarios.executed"
comparison = ">"
threshold = 0

[[stages.kept.gates]]
name = "uat-passed-kept"
metric = "uat.scenarios.passed"
baseline = { max_decrease_percent = 0, on_missing = "warn" }
"""


def baseline_gate(project: Project) -> dict[str, object]:
    gates = project.verdict()["gates"]
    assert isinstance(gates, list)
    [gate] = [gate for gate in gates if gate["name"] == "uat-passed-kept"]
    assert isinstance(gate, dict)
    return gate


@pytest.mark.slow
def test_baseline_gate_from_real_runs(project: Project) -> None:
    add_acceptance_stages(project)
    project.write("gates.toml", (project.root / "gates.toml").read_text() + BASELINE_STAGE)

    first = project.harness("run", "uat", "--stage", "kept", "--build", "b-1")
    assert first.returncode == 0, first.stdout + first.stderr
    assert project.verdict()["verdict"] == "WARN"
    assert "no build promoted to stage kept on environment local yet" in first.stdout
    fingerprint = json.loads((project.latest() / "fingerprint.json").read_text())
    assert fingerprint["suites"]["uat"]["count"] == len(fingerprint["suites"]["uat"]["tests"]) > 0
    promoted = project.harness("promote", "--run", "latest", "--to", "kept")
    assert promoted.returncode == 0, promoted.stdout + promoted.stderr
    record = project.latest() / "promotion-kept.json"
    baseline_passed = json.loads(record.read_text())["metrics"]["uat.scenarios.passed"]

    second = project.harness("run", "uat", "--stage", "kept", "--build", "b-2")
    assert second.returncode == 0, second.stdout + second.stderr
    assert gate_outcomes(project.verdict()) == {
        "uat-scenarios-executed": "PASS",
        "uat-passed-kept": "PASS",
    }
    gate = baseline_gate(project)
    assert gate["baseline"]["build_id"] == "b-1"  # type: ignore[index]
    assert gate["baseline"]["value"] == baseline_passed  # type: ignore[index]

    # An upgraded pytest, as the second run's fingerprint would record it.
    second_fingerprint = project.latest() / "fingerprint.json"
    data = json.loads(second_fingerprint.read_text())
    pytest_version = data["tool_versions"]["pytest"]
    data["tool_versions"]["pytest"] = "99.0.0"
    second_fingerprint.write_text(json.dumps(data))
    upgraded = project.harness("gate", "--run", "latest", "--stage", "kept")
    assert upgraded.returncode == 1
    assert baseline_gate(project)["outcome"] == "INCOMPARABLE"
    expected = f"tool versions differ: pytest {pytest_version} -> 99.0.0"
    assert expected in str(baseline_gate(project)["reason"])

    faults = str(project.root / "sut" / "faults" / "errors-50.toml")
    regressed = project.harness("run", "uat", "--stage", "kept", "--faults", faults)
    assert regressed.returncode == 1
    gate = baseline_gate(project)
    assert gate["outcome"] == "FAIL"
    assert f">= {baseline_passed} (baseline build b-1: {baseline_passed}" in str(gate["reason"])

    subset = project.harness("run", "uat", "--stage", "kept", "--select", "assistant")
    assert subset.returncode == 1
    gate = baseline_gate(project)
    assert gate["outcome"] == "INCOMPARABLE"
    subset_fingerprint = json.loads((project.latest() / "fingerprint.json").read_text())
    removed = fingerprint["suites"]["uat"]["count"] - subset_fingerprint["suites"]["uat"]["count"]
    assert removed > 0
    expected = f"test set of uat differs from baseline build b-1: 0 added, {removed} removed"
    assert expected in str(gate["reason"])

    record.chmod(0o644)
    record.write_text(record.read_text().replace('"verdict": "WARN"', '"verdict": "PASS"'))
    regate = project.harness("gate", "--run", "latest", "--stage", "kept")
    assert regate.returncode == 1
    assert "of baseline build b-1 changed after its promotion" in str(
        baseline_gate(project)["reason"]
    )


def test_invalid_baseline_gate_exits_2(project: Project) -> None:
    gate = "[stages.dev]\n[[stages.dev.gates]]\nname = 'g'\nmetric = 'uat.x'\nthreshold = 1\n"
    project.write("gates.toml", gate + "baseline = { max_increase_percent = 10 }\n")
    result = project.harness("run", "uat")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "stages.dev.gates.0.threshold: gate 'g': a baseline gate takes no threshold" in (
        result.stderr
    )
    assert project.runs() == []
