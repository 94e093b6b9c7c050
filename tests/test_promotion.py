"""Promotion records, the ledger, waivers and `harness verify`, from real runs where it matters."""

from __future__ import annotations

import datetime
import json
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import pytest

from harness.metrics import Metric, MetricStore, file_sha256
from harness.reporting.allure import executor_info
from harness.runs import RunFolder, RunStatus, SuiteRecord
from tests.conftest import PROJECT, Project, add_acceptance_stages

ONE_GATE = """
[stages.dev]
[[stages.dev.gates]]
name = "uat-scenarios-passed"
metric = "uat.scenarios.failed"
comparison = "=="
threshold = 0
"""


def record_path(project: Project, stage: str = "dev") -> Path:
    return project.latest() / f"promotion-{stage}.json"


def ledger_lines(project: Project) -> list[dict[str, str]]:
    path = project.reports / "ledger.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


@pytest.mark.slow
def test_promote_records_and_verifies(project: Project) -> None:
    add_acceptance_stages(project)
    assert project.harness("run", "uat", "--build", "b-100").returncode == 0

    promoted = project.harness("promote", "--run", "latest", "--to", "acceptance")
    assert promoted.returncode == 0, promoted.stdout + promoted.stderr
    assert "promoted build b-100 to acceptance" in promoted.stdout

    record = json.loads(record_path(project, "acceptance").read_text())
    assert record["verdict"] == "PASS"
    assert record["build_id"] == "b-100"
    assert [gate["outcome"] for gate in record["gates"]] == ["PASS", "PASS"]
    assert record["evidence"]["junit/uat.xml"] == file_sha256(project.latest() / "junit/uat.xml")
    assert record["gates_toml_sha256"] == file_sha256(project.root / "gates.toml")
    assert "pytest" in record["tool_versions"]
    assert [line["record_id"] for line in ledger_lines(project)] == [record["record_id"]]

    verified = project.harness("verify", str(record_path(project, "acceptance")))
    assert verified.returncode == 0, verified.stdout

    # A report built from the evidence afterwards is not evidence and leaves the record valid.
    (project.root / "node_modules").symlink_to(PROJECT / "node_modules")
    assert project.harness("report", "--run", "latest").returncode == 0
    reported = project.harness("verify", str(record_path(project, "acceptance")))
    assert reported.returncode == 0, reported.stdout

    missing = project.harness("verify", str(project.root / "promotion-nowhere.json"))
    assert missing.returncode == 2
    assert "promotion record" in missing.stderr
    assert "not found" in missing.stderr

    again = project.harness("promote", "--run", "latest", "--to", "acceptance")
    assert again.returncode == 2
    assert "already promoted" in again.stderr

    junit = project.latest() / "junit" / "uat.xml"
    junit.write_text(junit.read_text() + "\n")
    tampered = project.harness("verify", str(record_path(project, "acceptance")))
    assert tampered.returncode == 1
    assert "junit/uat.xml changed since the promotion" in tampered.stdout


@pytest.mark.slow
def test_fail_verdict_refuses_promotion(project: Project) -> None:
    faults = str(project.root / "sut" / "faults" / "errors-50.toml")
    assert project.harness("run", "uat", "--faults", faults).returncode == 1

    refused = project.harness("promote", "--run", "latest", "--to", "staging")
    assert refused.returncode == 1
    assert "refused: verdict FAIL" in refused.stdout
    assert not record_path(project, "staging").exists()
    assert ledger_lines(project) == []


def write_waiver(project: Project, build: str, expires: datetime.date) -> None:
    project.write(
        "waivers.toml",
        f'[[waivers]]\ngate = "uat-scenarios-passed"\nbuild = "{build}"\napprover = "R. Manager"\n'
        f'expires = {expires.isoformat()}\nreason = "known outage of a dependency"\n',
    )


@pytest.mark.slow
def test_waiver_applies_until_expiry(project: Project) -> None:
    add_acceptance_stages(project)
    faults = str(project.root / "sut" / "faults" / "errors-50.toml")
    assert project.harness("run", "uat", "--faults", faults, "--build", "b-7").returncode == 1
    today = datetime.date.today()

    write_waiver(project, "b-7", today - datetime.timedelta(days=1))
    expired = project.harness("promote", "--run", "latest", "--to", "acceptance")
    assert expired.returncode == 1
    assert "expired on" in expired.stdout

    write_waiver(project, "other-build", today)
    other = project.harness("promote", "--run", "latest", "--to", "acceptance")
    assert other.returncode == 1

    write_waiver(project, "b-7", today)
    waived = project.harness("promote", "--run", "latest", "--to", "acceptance")
    assert waived.returncode == 0, waived.stdout + waived.stderr
    assert "waived gates: uat-scenarios-passed (by R. Manager)" in waived.stdout
    assert "non-blocking" not in waived.stdout
    record = json.loads(record_path(project, "acceptance").read_text())
    assert record["verdict"] == "WARN"
    assert record["waivers"][0]["approver"] == "R. Manager"
    assert record["gates"][1]["waiver"]["build"] == "b-7"


def make_passing_run(reports: Path) -> RunFolder:
    """A completed run whose one metric passes ONE_GATE, without starting any service."""
    run = RunFolder.create(reports, "local", "dev")
    run.manifest.build_id = f"build-{run.run_id}"
    run.manifest.status = RunStatus.COMPLETED
    run.manifest.suites["uat"] = SuiteRecord("passed")
    run.save()
    evidence = run.subdir("junit") / "uat.xml"
    evidence.write_text("<testsuites/>\n")
    metric = Metric(
        name="uat.scenarios.failed",
        suite="uat",
        run_id=run.run_id,
        build_id=run.manifest.build_id,
        environment="local",
        evidence="junit/uat.xml",
        evidence_sha256=file_sha256(evidence),
        exact="0",
        value=float(Fraction(0)),
    )
    MetricStore(run).write("uat", [metric])
    return run


def test_concurrent_promotions_keep_ledger(tmp_path: Path) -> None:
    (tmp_path / "gates.toml").write_text(ONE_GATE)
    reports = tmp_path / "reports"
    runs = []
    for _ in range(6):
        runs.append(make_passing_run(reports))
    command = [sys.executable, "-m", "harness", "--root", str(tmp_path), "promote", "--to", "dev"]
    children = [subprocess.Popen([*command, "--run", run.run_id]) for run in runs]
    assert [child.wait(120) for child in children] == [0] * 6

    lines = (reports / "ledger.jsonl").read_text().splitlines()
    assert len(lines) == 6
    assert {json.loads(line)["run_id"] for line in lines} == {run.run_id for run in runs}
    for run in runs:
        verify = [sys.executable, "-m", "harness", "verify", str(run.path / "promotion-dev.json")]
        assert subprocess.run(verify, capture_output=True, check=False).returncode == 0


def test_edited_ledger_breaks_chain(tmp_path: Path) -> None:
    (tmp_path / "gates.toml").write_text(ONE_GATE)
    reports = tmp_path / "reports"
    first, second = make_passing_run(reports), make_passing_run(reports)
    for run in (first, second):
        promote = [sys.executable, "-m", "harness", "--root", str(tmp_path), "promote"]
        subprocess.run([*promote, "--run", run.run_id, "--to", "dev"], check=True)
    ledger = reports / "ledger.jsonl"
    ledger.write_text(ledger.read_text().replace('"verdict": "PASS"', '"verdict": "WARN"', 1))

    verify = [sys.executable, "-m", "harness", "verify", str(second.path / "promotion-dev.json")]
    result = subprocess.run(verify, capture_output=True, text=True, check=False)
    assert result.returncode == 1
    assert "ledger line 2 does not follow line 1" in result.stdout


def test_verify_rejects_non_record(tmp_path: Path) -> None:
    path = tmp_path / "promotion-dev.json"
    path.write_text("{}")
    result = subprocess.run(
        [sys.executable, "-m", "harness", "verify", str(path)], capture_output=True, text=True
    )
    assert result.returncode == 1
    assert "is unreadable" in result.stdout


@pytest.mark.parametrize(
    ("env", "name", "url"),
    [
        (
            {"GITHUB_ACTIONS": "true", "GITHUB_REPOSITORY": "o/r", "GITHUB_RUN_ID": "9"},
            "GitHub Actions",
            "https://github.com/o/r/actions/runs/9",
        ),
        ({"GITLAB_CI": "true", "CI_JOB_URL": "https://gl/j/1"}, "GitLab CI", "https://gl/j/1"),
        ({"JENKINS_URL": "https://j", "BUILD_URL": "https://j/b/2"}, "Jenkins", "https://j/b/2"),
        ({}, "harness", None),
    ],
)
def test_executor_from_ci_variables(env: dict[str, str], name: str, url: str | None) -> None:
    info = executor_info("run-1", env)
    assert info["name"] == name
    assert info.get("buildUrl") == url


@pytest.mark.slow
def test_stage_run_writes_job_summary(project: Project, tmp_path: Path) -> None:
    summary = tmp_path / "summary.md"
    add_acceptance_stages(project)
    result = project.harness(
        "gate", "--env", "local", "--stage", "acceptance", env={"GITHUB_STEP_SUMMARY": str(summary)}
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert project.manifest()["whole_stage"] is True
    assert "## Verdict: PASS (stage acceptance)" in summary.read_text()
    allure = project.latest() / "allure-results"
    assert (allure / "executor.json").is_file()
    categories = json.loads((allure / "categories.json").read_text())
    assert categories[0]["name"] == "Gate breach"
