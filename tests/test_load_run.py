"""Real `harness run load` runs on a small profile: evidence, metrics, verdict and INVALID runs."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from fractions import Fraction
from pathlib import Path

import pytest

from tests.conftest import RUN_TIMEOUT_S, Project, gate_outcomes

pytestmark = pytest.mark.slow

TINY_PROFILE = """
description = "a tiny profile for the harness's own tests"
users = 20
spawn_rate = 20
hold_s = 10
think_time_min_s = 1
think_time_max_s = 2
room_size = 5
history_limit = 10
"""

TINY_GATES = """
[stages.tiny]
[[stages.tiny.gates]]
name = "tiny-users"
metric = "load.tiny.users"
comparison = ">="
threshold = 20

[[stages.tiny.gates]]
name = "tiny-post-p95"
metric = "load.tiny.p95_ms"
labels = { name = "POST /api/rooms/{room_id}/messages" }
comparison = "<"
threshold = 200

[[stages.tiny.gates]]
name = "tiny-delivery-p95"
metric = "load.tiny.delivery_p95_ms"
comparison = "<"
threshold = 2000

[[stages.tiny.gates]]
name = "tiny-errors"
metric = "load.tiny.error_rate"
comparison = "<"
threshold = "0.001"
"""

ABORT_GATE = """
[[stages.tiny.gates]]
name = "tiny-p95-abort"
metric = "load.tiny.p95_ms"
labels = { name = "POST /api/rooms/{room_id}/messages" }
comparison = "<"
threshold = 200
abort_after_s = 2

[[stages.tiny.gates]]
name = "tiny-completed"
metric = "load.tiny.completed"
comparison = "=="
threshold = 1
"""


@pytest.fixture
def load_project(project: Project) -> Project:
    project.write("suites/load/tiny.toml", TINY_PROFILE)
    gates = project.root / "gates.toml"
    gates.write_text(gates.read_text() + TINY_GATES)
    return project


def metrics_by_key(run: Path) -> dict[str, dict[str, object]]:
    metrics = json.loads((run / "metrics" / "load.json").read_text())["metrics"]
    keyed = {}
    for metric in metrics:
        labels = metric["labels"]
        keyed[metric["name"] + (f"{{{labels['name']}}}" if labels else "")] = metric
    return keyed


def exact(metric: dict[str, object]) -> Fraction:
    return Fraction(str(metric["exact"]))


def test_small_run_leaves_evidence(load_project: Project) -> None:
    result = load_project.harness("run", "load", "--profile", "tiny", "--locust-workers", "2")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "verdict PASS: all 4 gates passed" in result.stdout
    assert re.search(r"load: \d+ users, [\d.]+ req/s", result.stderr)

    run = load_project.latest()
    assert load_project.manifest(run)["stage"] == "tiny"
    for name in ["result.json", "stats.json", "charts.png", "locust_stats.csv"]:
        assert (run / "load" / name).stat().st_size > 0, name
    assert (run / "load" / "locust_stats_history.csv").read_text().count("Aggregated") > 3

    metrics = metrics_by_key(run)
    assert exact(metrics["load.tiny.users"]) == 20
    assert exact(metrics["load.tiny.error_rate"]) == 0
    assert exact(metrics["load.tiny.deliveries"]) > 0
    assert exact(metrics["load.tiny.rps"]) > 0
    prefixes = ["load.tiny.", "load.tiny.delivery_"]
    for prefix in prefixes:
        p50, p95, p99, top = (
            exact(metrics[f"{prefix}{n}_ms"]) for n in ("p50", "p95", "p99", "max")
        )
        assert 0 < p50 <= p95 <= p99 <= top
    post = "{POST /api/rooms/{room_id}/messages}"
    assert exact(metrics[f"load.tiny.requests{post}"]) > 0
    assert exact(metrics[f"load.tiny.p95_ms{post}"]) <= exact(metrics[f"load.tiny.max_ms{post}"])
    assert {metric["evidence"] for metric in metrics.values()} == {"load/result.json"}

    allure = run / "allure-results"
    suite_results = [json.loads(p.read_text()) for p in allure.glob("*-result.json")]
    load_results = [r for r in suite_results if r["name"] == "load tiny suite"]
    assert load_results[0]["status"] == "passed"
    attached = {a["name"]: allure / a["source"] for a in load_results[0]["attachments"]}
    assert attached["latency over time"].read_bytes().startswith(b"\x89PNG")
    assert set(gate_outcomes(load_project.verdict(run)).values()) == {"PASS"}


def test_latency_fault_fails_and_aborts(load_project: Project) -> None:
    gates = load_project.root / "gates.toml"
    gates.write_text(gates.read_text() + ABORT_GATE)
    faults = str(load_project.root / "sut" / "faults" / "slow-messages.toml")

    result = load_project.harness("run", "load", "--profile", "tiny", "--faults", faults)
    assert result.returncode == 1, result.stdout + result.stderr
    outcomes = gate_outcomes(load_project.verdict())
    assert outcomes["tiny-post-p95"] == "FAIL"
    assert outcomes["tiny-completed"] == "FAIL"
    assert outcomes["tiny-errors"] == "PASS"
    assert "aborted early: gate tiny-p95-abort" in result.stdout

    metrics = metrics_by_key(load_project.latest())
    assert exact(metrics["load.tiny.p95_ms{POST /api/rooms/{room_id}/messages}"]) >= 300


def test_lost_worker_makes_run_invalid(load_project: Project) -> None:
    profile = load_project.root / "suites" / "load" / "tiny.toml"
    profile.write_text(TINY_PROFILE.replace("hold_s = 10", "hold_s = 20"))
    command = [sys.executable, "-m", "harness", "--root", str(load_project.root)]
    command += ["run", "load", "--profile", "tiny", "--locust-workers", "2"]
    harness = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        worker_pid = wait_for_second_worker(load_project)
        wait_for_users(load_project)
        os.kill(worker_pid, signal.SIGKILL)
        stdout, stderr = harness.communicate(timeout=RUN_TIMEOUT_S)
    finally:
        if harness.poll() is None:
            harness.terminate()
            harness.wait(30)

    assert harness.returncode == 1, stdout + stderr
    manifest = load_project.manifest()
    load = manifest["suites"]["load"]  # type: ignore[index]
    assert load["outcome"] == "error"
    assert load["reason"].startswith("INVALID: ")
    assert "went missing" in load["reason"] or "sent no totals" in load["reason"]
    assert set(gate_outcomes(load_project.verdict()).values()) == {"NO_EVIDENCE"}


def wait_for_second_worker(project: Project) -> int:
    pattern = re.compile(r"started locust worker-2 \(pid (\d+)\)")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        log = project.reports / "latest" / "logs" / "harness.log"
        match = pattern.search(log.read_text()) if log.is_file() else None
        if match:
            return int(match.group(1))
        time.sleep(0.2)
    raise AssertionError("the harness never started a second Locust worker")


def wait_for_users(project: Project) -> None:
    """Wait until Locust's history shows users, so the kill lands in the middle of the run."""
    deadline = time.monotonic() + 60
    history = project.reports / "latest" / "load" / "locust_stats_history.csv"
    while time.monotonic() < deadline:
        if history.is_file() and ",20,,Aggregated," in history.read_text():
            return
        time.sleep(0.2)
    raise AssertionError("the load run never reached 20 users")


def test_sensitive_environment_rejected(load_project: Project) -> None:
    env = {"PRODUCTION_BASE_URL": "http://127.0.0.1:9", "PRODUCTION_PROBE_PASSWORD": "x"}
    result = load_project.harness("run", "load", "--env", "production", env=env)
    assert result.returncode == 2
    assert "environment production is sensitive" in result.stderr
    assert "--allow-sensitive-load" in result.stderr
    assert "Traceback" not in result.stderr
    assert load_project.runs() == []
