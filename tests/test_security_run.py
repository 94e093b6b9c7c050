"""Real `harness run security` runs: bandit, DAST and TLS against the embedded service."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import trustme

from tests.conftest import Project, gate_outcomes
from tests.test_bad_input import assert_one_line_error
from tests.test_contract_run import fake_api, staging_env
from tests.test_uat_run import CANARY_PASSWORD

pytestmark = pytest.mark.slow

__all__ = ["fake_api"]


def metric_values(run: Path) -> dict[str, str | None]:
    metrics = json.loads((run / "metrics" / "security.json").read_text())["metrics"]
    return {metric["name"]: metric["exact"] for metric in metrics}


def security_results(run: Path) -> list[dict[str, object]]:
    results = [json.loads(p.read_text()) for p in (run / "allure-results").glob("*-result.json")]
    return [result for result in results if str(result["fullName"]).startswith("security.")]


def labels_of(result: dict[str, object]) -> dict[str, str]:
    labels = result["labels"]
    assert isinstance(labels, list)
    return {label["name"]: label["value"] for label in labels}


def scan_only(project: Project, target: str, baseline: str) -> None:
    project.write(
        "security.toml",
        f'[sast]\ntargets = ["{target}"]\nbaseline = "baseline.toml"\n',
    )
    project.write("baseline.toml", baseline)


def test_security_passes_on_agent_chat(project: Project) -> None:
    result = project.harness("run", "security", env={"AGENT_CHAT_SEED_PASSWORD": CANARY_PASSWORD})
    assert result.returncode == 0, result.stdout + result.stderr
    assert "verdict PASS: all 3 gates passed" in result.stdout

    run = project.latest()
    values = metric_values(run)
    assert values["security.findings.high"] == "0"
    assert values["security.dast.failures"] == "0"
    assert values["security.sast.stale_entries"] == "0"
    assert "security.tls.days_to_expiry" not in values
    sarif = json.loads((run / "security" / "bandit.sarif").read_text())
    assert sarif["runs"][0]["tool"]["driver"]["name"] == "Bandit"
    probes = json.loads((run / "security" / "findings.json").read_text())["probes"]
    checks = {probe["check"] for probe in probes}
    assert checks == {"auth", "error leak", "header", "rate limit"}
    assert all(probe["passed"] is True for probe in probes)
    assert any("expired token" in probe["detail"] for probe in probes)
    assert {labels_of(r)["severity"] for r in security_results(run)} >= {"critical", "normal"}
    leaks = [
        p.name for p in run.rglob("*") if p.is_file() and CANARY_PASSWORD.encode() in p.read_bytes()
    ]
    assert leaks == []


def test_security_over_https_with_test_ca(project: Project, tmp_path: Path) -> None:
    authority = trustme.CA()
    certificate = authority.issue_cert("127.0.0.1")
    certificate.private_key_pem.write_to_path(str(tmp_path / "key.pem"))
    certificate.cert_chain_pems[0].write_to_path(str(tmp_path / "cert.pem"))
    authority.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    local = (project.root / "environments" / "local.toml").read_text()
    tls = (
        f'tls_certfile = "{tmp_path / "cert.pem"}"\ntls_keyfile = "{tmp_path / "key.pem"}"\n'
        f'ca_file = "{tmp_path / "ca.pem"}"\n'
    )
    project.write("environments/local-tls.toml", local.replace("[target]\n", f"[target]\n{tls}"))

    result = project.harness("run", "security", "--env", "local-tls", "--stage", "staging")
    assert result.returncode == 0, result.stdout + result.stderr
    assert gate_outcomes(project.verdict())["security-tls-expiry"] == "PASS"
    run = project.latest()
    assert project.manifest(run)["target_url"].startswith("https://127.0.0.1:")  # type: ignore[union-attr]
    assert int(metric_values(run)["security.tls.days_to_expiry"] or 0) >= 30
    probes = json.loads((run / "security" / "findings.json").read_text())["probes"]
    tls = {probe["subject"].split(" ")[-1]: probe for probe in probes if probe["check"] == "tls"}
    assert all(probe["passed"] for probe in tls.values())
    assert any("TLSv1.2" in p["detail"] or "TLSv1.3" in p["detail"] for p in tls.values())
    assert any("Strict-Transport-Security" in probe["subject"] for probe in probes)


def test_stale_entry_and_reintroduced_finding(project: Project) -> None:
    project.write("app/dice.py", "import random\n\nother = random.randint(1, 6)\n")
    baseline = (
        '[[accepted]]\ntest_id = "B311"\npath = "app/dice.py"\n'
        'code = "value = random.random()"\nreason = "dice for a game"\n'
    )
    scan_only(project, "app", baseline)

    result = project.harness("run", "security")
    assert result.returncode == 1, result.stdout + result.stderr
    outcomes = gate_outcomes(project.verdict())
    assert outcomes["security-baseline-current"] == "FAIL"
    assert outcomes["security-high-findings"] == "PASS"
    run = project.latest()
    values = metric_values(run)
    assert values["security.sast.stale_entries"] == "1"
    assert values["security.findings.low"] == "1"
    assert "stale baseline entry, remove it: B311 in app/dice.py" in result.stderr
    names = [str(r["name"]) for r in security_results(run)]
    assert any(name.startswith("B311 ") and "app/dice.py:3" in name for name in names)


def test_bandit_scanning_nothing_is_error(project: Project) -> None:
    (project.root / "empty").mkdir()
    scan_only(project, "empty", "")

    result = project.harness("run", "security")
    assert result.returncode == 1, result.stdout + result.stderr
    suite = project.manifest()["suites"]["security"]  # type: ignore[index]
    assert suite["outcome"] == "error"
    assert "SAST tool error: bandit scanned 0 files and 0 lines" in suite["reason"]
    assert set(gate_outcomes(project.verdict()).values()) == {"NO_EVIDENCE"}


def test_bandit_target_missing(project: Project) -> None:
    scan_only(project, "no-such-folder", "")
    result = project.harness("run", "security")
    assert_one_line_error(
        result, "security.toml: key sast.targets.0: target no-such-folder not found"
    )
    assert project.runs() == []


def test_baseline_malformed(project: Project) -> None:
    project.write("security-baseline.toml", "[[accepted]\ntest_id = 1\n")
    result = project.harness("run", "security")
    assert_one_line_error(result, "security-baseline.toml: invalid TOML")
    assert project.runs() == []


def test_baseline_entry_invalid(project: Project) -> None:
    project.write("security-baseline.toml", '[[accepted]]\ntest_id = "X1"\n')
    result = project.harness("run", "security")
    assert_one_line_error(result, "security-baseline.toml: key accepted.0.test_id")


def test_dast_failures_on_broken_api(project: Project, fake_api: str) -> None:
    result = project.harness("run", "security", "--env", "staging", env=staging_env(fake_api))
    assert result.returncode == 1, result.stdout + result.stderr
    outcomes = gate_outcomes(project.verdict())
    assert outcomes["security-dast-failures"] == "FAIL"
    assert outcomes["security-high-findings"] == "FAIL"
    run = project.latest()
    assert int(metric_values(run)["security.dast.failures"] or 0) > 0
    failed = [r for r in security_results(run) if r["status"] == "failed"]
    rate_limit = [r for r in failed if str(r["name"]).startswith("rate limit")]
    assert rate_limit
    assert labels_of(rate_limit[0])["severity"] == "critical"
    assert labels_of(rate_limit[0])["feature"] == "DAST"
    skipped = [r for r in security_results(run) if r["status"] == "skipped"]
    assert any("token_secret_env" in str(r["statusDetails"]) for r in skipped)
