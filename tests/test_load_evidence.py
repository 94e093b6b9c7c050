"""The pure parts of the load suite: percentiles, accounting, limits, profiles and label gates."""

from __future__ import annotations

import copy
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest

from harness.config.gates import GateSpec, Stage
from harness.config.load_profile import load_profile
from harness.errors import UsageError
from harness.evaluation import Outcome, evaluate_stage
from harness.evidence.junit import EvidenceError
from harness.evidence.locust import (
    bucket_top,
    percentile_upper_bound,
    read_result,
    summarize,
)
from harness.metrics import Metric, MetricStore, file_sha256, metric_key
from harness.runners.base import LoadOptions, SuiteOptions, SuiteOutcome
from harness.runners.load import (
    LoadRunner,
    abort_rules,
    classify_load,
    missing_result,
    resolve_profile,
)
from harness.runners.load_limits import LimitPlan, check_limits
from harness.runners.locust_cluster import live_line
from harness.runs import RunFolder, RunStatus, SuiteRecord
from tests.conftest import PROJECT, Project

WORKER = {
    "reports": 2,
    "requests": 10,
    "failures": 1,
    "last_seq": 2,
    "gaps": 0,
    "connected": 5,
    "went_missing": False,
    "sent": {"reports": 2, "requests": 10, "failures": 1},
}


def entry(method: str, name: str, times: dict[str, int], failures: int = 0) -> dict[str, Any]:
    count = sum(times.values())
    return {
        "method": method,
        "name": name,
        "num_requests": count,
        "num_none_requests": 0,
        "num_failures": failures,
        "min_response_time": 1,
        "total_response_time": 1,
        "max_response_time": max(int(key) for key in times),
        "response_times": times,
    }


def received(reports: int, requests: int) -> dict[str, int]:
    return {"reports": reports, "requests": requests, "failures": 1}


def result() -> dict[str, Any]:
    entries = [
        entry("POST", "/api/login", {"3": 4}),
        entry("POST", "/api/rooms/{room_id}/messages", {"10": 3, "104": 2}, failures=1),
        entry("DELIVERY", "message", {"20": 8}),
    ]
    total = entry("", "Aggregated", {"3": 4, "10": 3, "104": 2, "20": 8}, failures=1)
    total["num_requests"] = 17
    workers = {"w1": copy.deepcopy(WORKER), "w2": copy.deepcopy(WORKER)}
    workers["w2"]["requests"] = workers["w2"]["sent"]["requests"] = 7
    workers["w2"]["failures"] = workers["w2"]["sent"]["failures"] = 0
    workers["w1"]["failures"] = workers["w1"]["sent"]["failures"] = 1
    timeline = [{"t": 100.0 + second, "connected": 10, "spawned": 10} for second in range(20)]
    timeline[0]["connected"] = 3  # before the hold starts, so it is left out
    return {
        "format": 1,
        "complete": True,
        "aborted": "",
        "expected_workers": 2,
        "started_at": 98.0,
        "hold_started_at": 101.0,
        "stopped_at": 118.0,
        "discarded_reports": 0,
        "workers": workers,
        "entries": entries,
        "total": total,
        "errors": [],
        "timeline": timeline,
    }


def test_bucket_top_per_locust_rounding() -> None:
    assert bucket_top(99) == Fraction(199, 2)
    assert bucket_top(100) == 105
    assert bucket_top(1000) == 1050
    assert bucket_top(12000) == 12500


def test_percentile_cannot_hide_breach() -> None:
    # Locust stores 104 ms as 100 ms, so a gate "p95 <= 100" would pass on its own percentile.
    histogram = {10: 90, 100: 10}
    bound = percentile_upper_bound(histogram, Fraction(95, 100), Fraction(104))
    assert bound == 104
    assert not bound <= 100


def test_percentile_capped_at_max() -> None:
    assert percentile_upper_bound({10: 1}, Fraction(1, 2), Fraction("10.2")) == Fraction("10.2")
    assert percentile_upper_bound({}, Fraction(1, 2), Fraction(0)) == 0


def test_summary_of_balanced_result() -> None:
    summary = summarize(result())
    assert summary.problems == []
    assert summary.users_held == 10
    assert summary.http.requests == 9
    assert summary.errors.error_rate == Fraction(1, 9)
    assert summary.delivery is not None and summary.delivery.percentiles["p95"] == 20
    assert summary.rps == Fraction(9, 20)
    by_label = {stats.label: stats for stats in summary.endpoints}
    post = by_label["POST /api/rooms/{room_id}/messages"]
    assert post.percentiles["p95"] == 104
    assert sorted(by_label) == [
        "DELIVERY message",
        "POST /api/login",
        "POST /api/rooms/{room_id}/messages",
    ]


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda d: d.update(complete=False), "stopped before it collected"),
        (lambda d: d["workers"]["w2"].update(sent=None), "only 1 of 2 workers"),
        (lambda d: d["workers"]["w2"].update(went_missing=True), "went missing"),
        (lambda d: d["workers"]["w1"].update(gaps=1), "missed 1 reports"),
        (lambda d: d["workers"]["w1"]["sent"].update(requests=11), "sent 11 requests"),
        (lambda d: d["workers"]["w1"].update(received=received(2, 9)), "received 9"),
        (lambda d: d["workers"]["w1"].update(received=received(2, 10), requests=12), "2 requests"),
        (lambda d: d.update(discarded_reports=2), "discarded 2 worker reports"),
        (lambda d: d["total"].update(num_requests=18), "master total 18"),
        (lambda d: d["entries"][0]["response_times"].update({"3": 5}), "histogram does not"),
    ],
)
def test_accounting_problems(change: Any, problem: str) -> None:
    data = result()
    change(data)
    problems = summarize(data).problems
    assert any(problem in text for text in problems), problems


def test_reports_after_totals_allowed() -> None:
    data = result()
    data["workers"]["w1"].update(received=received(2, 10), reports=3)
    assert summarize(data).problems == []


def test_csv_total_must_match(tmp_path: Path) -> None:
    history = tmp_path / "history.csv"
    history.write_text("Timestamp,Name,Total Request Count\n1,Aggregated,16\n")
    assert "counts 16 requests, the result 17" in summarize(result(), history).problems[0]
    history.write_text("Timestamp,Name,Total Request Count\n")
    assert "no aggregated row" in summarize(result(), history).problems[0]
    assert "unreadable" in summarize(result(), tmp_path / "none.csv").problems[0]


def test_unreadable_results(tmp_path: Path) -> None:
    with pytest.raises(EvidenceError, match="was not written"):
        read_result(tmp_path / "result.json")
    (tmp_path / "result.json").write_text("{not json")
    with pytest.raises(EvidenceError, match="unreadable"):
        read_result(tmp_path / "result.json")
    (tmp_path / "result.json").write_text('{"format": 2}')
    with pytest.raises(EvidenceError, match="not a load result"):
        read_result(tmp_path / "result.json")


def test_classify_load_outcomes() -> None:
    problems = [f"problem {n}" for n in range(5)]
    outcome, reason = classify_load(problems, "", 10)
    assert outcome is SuiteOutcome.ERROR
    assert reason == "INVALID: problem 0; problem 1; problem 2 (and 2 more)"
    assert classify_load([], "", 0)[0] is SuiteOutcome.NO_EVIDENCE
    assert classify_load([], "p95 breached", 10) == (
        SuiteOutcome.FAILED,
        "aborted early: p95 breached",
    )


def test_gate_selects_labelled_metric(tmp_path: Path) -> None:
    run = RunFolder.create(tmp_path, "local", "dev")
    run.manifest.status = RunStatus.COMPLETED
    run.manifest.suites["load"] = SuiteRecord("passed")
    run.save()
    evidence = run.subdir("load") / "result.json"
    evidence.write_text("{}")
    fields: dict[str, Any] = {
        "suite": "load",
        "run_id": run.run_id,
        "build_id": "",
        "environment": "local",
        "evidence": "load/result.json",
        "evidence_sha256": file_sha256(evidence),
    }
    MetricStore(run).write(
        "load",
        [
            Metric(name="load.x.p95_ms", exact="50", value=50.0, **fields),
            Metric(
                name="load.x.p95_ms",
                exact="250",
                value=250.0,
                labels={"name": "POST /m"},
                **fields,
            ),
        ],
    )
    overall = GateSpec(name="all", metric="load.x.p95_ms", comparison="<", threshold=100)
    post = overall.model_copy(update={"name": "post", "labels": {"name": "POST /m"}})
    other = overall.model_copy(update={"name": "other", "labels": {"name": "GET /none"}})
    results = evaluate_stage(Stage(gates=[overall, post, other]), run)
    assert [r.outcome for r in results] == [Outcome.PASS, Outcome.FAIL, Outcome.NO_EVIDENCE]
    assert 'load.x.p95_ms{name="GET /none"} missing' in results[2].reason
    assert metric_key("m", {"b": "2", "a": "1"}) == 'm{a="1",b="2"}'


def plan(users: int, workers: int, embedded: bool = True) -> LimitPlan:
    return LimitPlan(
        load_profile("peak", PROJECT).model_copy(update={"users": users}), workers, 0, embedded
    )


def test_limits_name_the_resource() -> None:
    check_limits(plan(100, 2), 20_000)
    with pytest.raises(
        UsageError, match=r"open files per Locust worker .* \(RLIMIT_NOFILE\) is 2000"
    ):
        check_limits(plan(10_000, 2), 2000)
    with pytest.raises(UsageError, match="open files in the embedded service"):
        check_limits(plan(10_000, 8), 6000)
    with pytest.raises(UsageError, match="local ports"):
        check_limits(plan(60_000, 64, embedded=False), 1_000_000)


def test_profile_and_stage_resolution(project: Project) -> None:
    assert resolve_profile(project.root, "performance", "") == "smoke"
    assert resolve_profile(project.root, "dev", "") == "smoke"
    assert resolve_profile(project.root, "dev", "normal") == "normal"
    with pytest.raises(UsageError, match="stage performance gates load profile smoke, not peak"):
        resolve_profile(project.root, "performance", "peak")
    runner = LoadRunner()
    assert (
        runner.default_stage(project.root, SuiteOptions(load=LoadOptions(profile="smoke")))
        == "performance"
    )
    assert (
        runner.default_stage(project.root, SuiteOptions(load=LoadOptions(profile="peak"))) == "peak"
    )
    assert (
        runner.default_stage(project.root, SuiteOptions(load=LoadOptions(profile="normal"))) is None
    )
    assert runner.default_stage(project.root, SuiteOptions()) is None
    rules = abort_rules(project.root, "peak", load_profile("peak", project.root))
    assert rules == [
        {
            "gate": "load-peak-p95",
            "statistic": "p95_ms",
            "label": "",
            "comparison": "<",
            "threshold": 2000.0,
            "window_s": 30.0,
        }
    ]


def test_live_line(tmp_path: Path) -> None:
    history = tmp_path / "history.csv"
    assert live_line(history) == ""
    history.write_text(
        "User Count,Name,Requests/s,95%,Total Failure Count,Total Request Count\n"
        "20,Aggregated,12.345,40,1,300\n"
    )
    assert live_line(history) == "load: 20 users, 12.3 req/s, p95 40 ms, 1 failures of 300 requests"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--profile", "nope"], "unknown load profile 'nope'"),
        (["--profile", "smoke", "--locust-workers", "-1"], "--locust-workers -1 is out of range"),
        (["--profile", "smoke", "--remote-workers", "-2"], "--remote-workers -2 is negative"),
        (
            ["--profile", "bad"],
            "bad.toml: key think_time_max_s: Value error, must be at least think_time_min_s (9)",
        ),
        (["--profile", "broken"], "broken.toml: invalid TOML"),
        (["--profile", "peak", "--stage", "performance"], "gates load profile smoke, not peak"),
    ],
)
def test_bad_load_input(project: Project, args: list[str], message: str) -> None:
    bad = (
        (PROJECT / "suites/load/smoke.toml")
        .read_text()
        .replace("think_time_min_s = 2", "think_time_min_s = 9")
    )
    project.write("suites/load/bad.toml", bad)
    project.write("suites/load/broken.toml", "users = [\n")
    result = project.harness("run", "load", *args)
    assert result.returncode == 2, result.stdout + result.stderr
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert project.runs() == []


def test_missing_result_names_workers(tmp_path: Path) -> None:
    error = EvidenceError("result.json was not written")
    outcome, reason = missing_result(error, 1, tmp_path)
    assert outcome is SuiteOutcome.NO_EVIDENCE
    expected = "no trustworthy load result: result.json was not written"
    assert reason == f"{expected} (locust master exit code 1)"

    (tmp_path / "locust-master.log").write_text("ERROR: Gave up waiting for workers to connect\n")
    outcome, reason = missing_result(error, 1, tmp_path)
    assert outcome is SuiteOutcome.ERROR
    assert reason.startswith("INVALID: fewer workers than expected connected")
