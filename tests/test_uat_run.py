"""Real `harness run uat` runs against the embedded service: evidence, metrics and verdict."""

from __future__ import annotations

import json
import re

import httpx
import pytest

from tests.conftest import Project, gate_outcomes

pytestmark = pytest.mark.slow

CANARY_PASSWORD = "canary-Pa55word-never-in-evidence"


def test_passing_run_leaves_evidence(project: Project) -> None:
    result = project.harness(
        "run", "uat", "--build", "build-4711", env={"AGENT_CHAT_SEED_PASSWORD": CANARY_PASSWORD}
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "verdict PASS: all 2 gates passed" in result.stdout

    run = project.latest()
    manifest = project.manifest(run)
    assert manifest["status"] == "completed"
    assert manifest["build_id"] == "build-4711"
    assert manifest["suites"]["uat"]["outcome"] == "passed"  # type: ignore[index]

    junit = (run / "junit" / "uat.xml").read_text()
    assert len(re.findall(r"<testcase ", junit)) == 7
    assert "[api]" in junit

    metrics = json.loads((run / "metrics" / "uat.json").read_text())["metrics"]
    by_name = {metric["name"]: metric for metric in metrics}
    assert by_name["uat.scenarios.passed"]["exact"] == "7"
    assert by_name["uat.scenarios.failed"]["exact"] == "0"
    assert {metric["build_id"] for metric in metrics} == {"build-4711"}
    assert {metric["evidence"] for metric in metrics} == {"junit/uat.xml"}

    allure = run / "allure-results"
    scenario_results = [p for p in allure.glob("*-result.json") if "gate " not in p.read_text()]
    assert len(scenario_results) == 7
    assert "build=build-4711" in (allure / "environment.properties").read_text()
    assert project.verdict(run)["verdict"] == "PASS"


def test_no_secret_in_any_artifact(project: Project) -> None:
    result = project.harness("run", "uat", env={"AGENT_CHAT_SEED_PASSWORD": CANARY_PASSWORD})
    assert result.returncode == 0, result.stdout + result.stderr
    leaks = [
        path.name
        for path in project.latest().rglob("*")
        if path.is_file() and CANARY_PASSWORD.encode() in path.read_bytes()
    ]
    assert leaks == []
    assert CANARY_PASSWORD not in result.stdout + result.stderr


def test_fault_injection_fails_gate(project: Project) -> None:
    faults = str(project.root / "sut" / "faults" / "errors-50.toml")
    result = project.harness("run", "uat", "--faults", faults)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "verdict FAIL: blocking gates not passed: uat-scenarios-passed" in result.stdout
    outcomes = gate_outcomes(project.verdict())
    assert outcomes == {"uat-scenarios-executed": "PASS", "uat-scenarios-passed": "FAIL"}


def test_stored_run_reevaluated_and_tamper_caught(project: Project) -> None:
    assert project.harness("run", "uat").returncode == 0
    run_id = project.latest().name

    again = project.harness("gate", "--run", run_id)
    assert again.returncode == 0, again.stderr
    assert "verdict PASS" in again.stdout
    allure = project.latest() / "allure-results"
    gate_results = [p for p in allure.glob("*-result.json") if '"gate ' in p.read_text()]
    assert len(gate_results) == 2

    junit = project.latest() / "junit" / "uat.xml"
    junit.write_text(junit.read_text().replace("[api]", "[edited]"))
    tampered = project.harness("gate", "--run", "latest")
    assert tampered.returncode == 1
    assert "changed after" in tampered.stdout
    assert set(gate_outcomes(project.verdict()).values()) == {"NO_EVIDENCE"}


def test_nothing_selected_is_no_evidence(project: Project) -> None:
    result = project.harness("run", "uat", "--select", "no_scenario_has_this_name")
    assert result.returncode == 1, result.stdout + result.stderr
    outcomes = gate_outcomes(project.verdict())
    assert set(outcomes.values()) == {"NO_EVIDENCE"}
    assert "no tests were collected" in result.stdout


def test_other_stage_and_missing_gates(project: Project) -> None:
    gates = project.root / "gates.toml"
    gates.write_text(
        gates.read_text()
        + '\n[stages.empty]\n[[stages.empty.gates]]\nname = "cov"\n'
        + 'metric = "unit.coverage.line_percent"\ncomparison = ">="\nthreshold = 90\n'
    )
    result = project.harness("run", "uat", "--stage", "empty")
    assert result.returncode == 1
    assert "no gates apply to stage empty for suites uat" in result.stdout


def test_sensitive_environment_runs_readonly_only(project: Project, agent_chat: str) -> None:
    env = {"PRODUCTION_BASE_URL": agent_chat, "PRODUCTION_PROBE_PASSWORD": "seed-secret"}
    production = project.root / "environments" / "production.toml"
    production.write_text(production.read_text().replace('"qa-probe"', '"carol"'))

    result = project.harness("run", "uat", "--env", "production", "--stage", "staging", env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    junit = (project.latest() / "junit" / "uat.xml").read_text()
    assert len(re.findall(r"<testcase ", junit)) == 2
    assert "logs_in" in junit

    rooms = rooms_on(agent_chat, "carol", "seed-secret")
    assert rooms == ["general"]


def rooms_on(base_url: str, username: str, password: str) -> list[str]:
    token = httpx.post(
        f"{base_url}/api/login", json={"username": username, "password": password}
    ).json()["token"]
    response = httpx.get(f"{base_url}/api/rooms", headers={"Authorization": f"Bearer {token}"})
    return [room["name"] for room in response.json()["rooms"]]


def test_run_leaves_no_test_data(project: Project, agent_chat: str) -> None:
    env = {
        "STAGING_BASE_URL": agent_chat,
        "STAGING_ALICE_PASSWORD": "seed-secret",
        "STAGING_BOB_PASSWORD": "seed-secret",
    }
    staging = project.root / "environments" / "staging.toml"
    staging.write_text(
        staging.read_text().replace('"qa-alice"', '"alice"').replace('"qa-bob"', '"bob"')
    )

    result = project.harness("run", "uat", "--env", "staging", env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert len(re.findall(r"<testcase ", (project.latest() / "junit" / "uat.xml").read_text())) == 7
    assert rooms_on(agent_chat, "alice", "seed-secret") == ["general"]
