"""Real `harness run contract` runs: schemathesis against the embedded service and a broken API."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import PROJECT, Project, free_port, gate_outcomes, wait_until_healthy
from tests.fake_api import FAKE_TOKEN
from tests.test_uat_run import CANARY_PASSWORD, rooms_on

pytestmark = pytest.mark.slow

CONTRACT_GATES = ["contract-operations-tested", "contract-failures", "contract-errors"]


@pytest.fixture
def fake_api() -> Iterator[str]:
    """The deliberately broken API of tests/fake_api.py on a loopback port."""
    port = free_port()
    command = [sys.executable, "-m", "uvicorn", "tests.fake_api:app", "--port", str(port)]
    command += ["--host", "127.0.0.1"]
    service = subprocess.Popen(
        command, cwd=PROJECT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(base_url, path="/version")
        yield base_url
    finally:
        service.terminate()
        service.wait(10)


def set_contract(project: Project, environment: str, lines: str) -> None:
    path = project.root / "environments" / f"{environment}.toml"
    path.write_text(path.read_text() + f"\n[contract]\n{lines}\n")


def staging_env(base_url: str) -> dict[str, str]:
    return {
        "STAGING_BASE_URL": base_url,
        "STAGING_ALICE_PASSWORD": CANARY_PASSWORD,
        "STAGING_BOB_PASSWORD": "unused",
    }


def metric_values(run: Path) -> dict[str, str | None]:
    metrics = json.loads((run / "metrics" / "contract.json").read_text())["metrics"]
    return {metric["name"]: metric["exact"] for metric in metrics}


def allure_findings(run: Path) -> list[dict[str, object]]:
    results = [json.loads(p.read_text()) for p in (run / "allure-results").glob("*-result.json")]
    return [result for result in results if str(result["fullName"]).startswith("contract.")]


def count_operations(run: Path, methods: set[str] | None = None) -> int:
    """Count the operations of the OpenAPI document the run tested, optionally by method."""
    document = json.loads(next(run.rglob("openapi.json")).read_text())
    return sum(
        1
        for path_item in document["paths"].values()
        for method in path_item
        if methods is None or method in methods
    )


def test_contract_passes_on_agent_chat(project: Project) -> None:
    result = project.harness("run", "contract", env={"AGENT_CHAT_SEED_PASSWORD": CANARY_PASSWORD})
    assert result.returncode == 0, result.stdout + result.stderr
    assert "verdict PASS: all 3 gates passed" in result.stdout

    run = project.latest()
    values = metric_values(run)
    assert values["contract.operations_tested"] == str(count_operations(run))
    assert values["contract.failures"] == "0"
    assert values["contract.errors"] == "0"
    assert (run / "contract" / "events.ndjson").stat().st_size > 0
    assert (
        'password = "${AGENT_CHAT_SEED_PASSWORD}"'
        in (run / "contract" / "schemathesis.toml").read_text()
    )
    leaks = [
        p.name for p in run.rglob("*") if p.is_file() and CANARY_PASSWORD.encode() in p.read_bytes()
    ]
    assert leaks == []


def test_contract_failure_reaches_allure(project: Project, fake_api: str) -> None:
    result = project.harness("run", "contract", "--env", "staging", env=staging_env(fake_api))
    assert result.returncode == 1, result.stdout + result.stderr
    assert "suite contract: failed" in result.stdout
    assert gate_outcomes(project.verdict())["contract-failures"] == "FAIL"

    run = project.latest()
    assert int(metric_values(run)["contract.failures"] or 0) >= 1
    findings = allure_findings(run)
    items = [f for f in findings if str(f["name"]).startswith("GET /api/items")]
    assert items, [f["name"] for f in findings]
    # schemathesis may report the 500 as one failure with both checks or as two failures, so the
    # server-error check is looked for in every failure of the operation.
    all_parameters = [
        {p["name"]: p["value"] for p in item["parameters"]}  # type: ignore[attr-defined]
        for item in items
    ]
    server_errors = [p for p in all_parameters if "ST101" in p["check"]]
    assert server_errors, all_parameters
    parameters = server_errors[0]
    assert parameters["reproduction"].startswith("curl ")
    assert "Authorization: Bearer <TOKEN>" in parameters["reproduction"]
    for path in (run / "allure-results").iterdir():
        assert FAKE_TOKEN not in path.read_text()
        assert CANARY_PASSWORD not in path.read_text()


def test_contract_no_operations_is_no_evidence(project: Project, fake_api: str) -> None:
    set_contract(
        project, "staging", 'openapi_url = "/empty-openapi.json"\nseed = 7\nmax_time_s = 5'
    )
    result = project.harness("run", "contract", "--env", "staging", env=staging_env(fake_api))
    assert result.returncode == 1, result.stdout + result.stderr
    outcomes = gate_outcomes(project.verdict())
    assert set(outcomes.values()) == {"NO_EVIDENCE"}
    assert project.manifest()["suites"]["contract"]["outcome"] in {"no evidence", "error"}  # type: ignore[index]


def test_contract_unreachable_openapi_url(project: Project) -> None:
    url = f"http://127.0.0.1:{free_port()}/openapi.json"
    set_contract(project, "local", f'openapi_url = "{url}"')
    result = project.harness("run", "contract")
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"contract suite not started: OpenAPI document {url} is unreachable" in result.stderr
    suite = project.manifest()["suites"]["contract"]  # type: ignore[index]
    assert suite["outcome"] == "error"
    for gate in project.verdict()["gates"]:  # type: ignore[attr-defined]
        assert gate["outcome"] == "NO_EVIDENCE"
        assert "is unreachable" in gate["reason"]


def test_contract_openapi_does_not_parse(project: Project) -> None:
    set_contract(project, "local", 'openapi_url = "/"')
    result = project.harness("run", "contract")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "does not parse as JSON" in result.stderr
    assert project.manifest()["suites"]["contract"]["outcome"] == "error"  # type: ignore[index]
    assert set(gate_outcomes(project.verdict()).values()) == {"NO_EVIDENCE"}


def test_contract_unknown_actor(project: Project) -> None:
    set_contract(project, "local", 'actor = "zed"')
    result = project.harness("run", "contract")
    assert result.returncode == 1, result.stdout + result.stderr
    reason = "contract.actor 'zed' is not an account of local; use one of: alice, bob"
    assert reason in result.stderr
    assert project.manifest()["suites"]["contract"]["outcome"] == "error"  # type: ignore[index]


def test_contract_sensitive_sends_safe_methods(project: Project, agent_chat: str) -> None:
    env = {"PRODUCTION_BASE_URL": agent_chat, "PRODUCTION_PROBE_PASSWORD": "seed-secret"}
    production = project.root / "environments" / "production.toml"
    production.write_text(production.read_text().replace('"qa-probe"', '"carol"'))

    result = project.harness("run", "contract", "--env", "production", env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    log = (project.latest() / "logs" / "harness.log").read_text()
    assert "--include-method GET --include-method HEAD --include-method OPTIONS" in log
    assert "--exclude-checks unsupported_method" in log
    safe = count_operations(project.latest(), methods={"get", "head", "options"})
    assert metric_values(project.latest())["contract.operations_tested"] == str(safe)
    assert rooms_on(agent_chat, "carol", "seed-secret") == ["general"]
