"""The security runner: bandit over the code, then DAST and TLS probes of the running deployment."""

from __future__ import annotations

import json
import logging
import os
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

import httpx

from harness.config.environment import Environment
from harness.config.security import Baseline, SecurityFile, load_baseline, load_security_file
from harness.evidence.bandit import BanditReport, SastFinding, apply_baseline, parse_bandit
from harness.evidence.junit import EvidenceError
from harness.process import run_logged
from harness.reporting.allure import FindingResult, write_finding_results
from harness.runners.base import (
    RunContext,
    SuiteOptions,
    SuiteOutcome,
    SuiteResult,
    metric_from,
    require_modules,
)
from harness.security.dast import DastTarget, ProbeResult, run_dast
from harness.security.tls import TlsReport, check_tls
from harness.target import tls_verification

__all__ = ["SecurityRunner", "classify_security"]

log = logging.getLogger(__name__)

ALLURE_SEVERITY = {"high": "critical", "medium": "normal", "low": "minor"}
ALLURE_STATUS = {True: "passed", False: "failed", None: "skipped"}


@dataclass
class SecurityEvidence:
    """Results of the suite's three parts, before they become metrics and Allure results."""

    sast: BanditReport | EvidenceError
    new_findings: list[SastFinding] = field(default_factory=list)
    stale_entries: list[str] = field(default_factory=list)
    probes: list[ProbeResult] = field(default_factory=list)
    dast_error: str = ""
    tls: TlsReport | None = None

    def severity_counts(self) -> dict[str, int]:
        counts = {"high": 0, "medium": 0, "low": 0}
        for finding in self.new_findings:
            counts[finding.severity.lower()] += 1
        for probe in self.probes:
            if probe.passed is False:
                counts[probe.severity] += 1
        return counts

    def dast_failures(self) -> int:
        """Count DAST probes that failed or could not run; an unverified property is no pass."""
        return sum(1 for probe in self.probes if probe.passed is not True and probe.check != "tls")


class SecurityRunner:
    """Runs SAST with bandit against a baseline, then DAST and, over HTTPS, TLS checks."""

    name = "security"
    needs_target = True

    def preflight(
        self, root: Path, options: SuiteOptions, environment: Environment, environment_path: Path
    ) -> None:
        require_modules({"bandit": "bandit"}, "security")
        load_baseline(root, load_security_file(root))

    def run(self, context: RunContext) -> SuiteResult:
        folder = context.run.subdir("security")
        security = load_security_file(context.root)
        evidence = SecurityEvidence(run_sast(context, security, folder))
        if not isinstance(evidence.sast, EvidenceError):
            baseline = load_baseline(context.root, security)
            evidence.new_findings, evidence.stale_entries = split_findings(evidence.sast, baseline)
        run_probes(context, evidence)
        return self.result(context, evidence, folder)

    def result(self, context: RunContext, evidence: SecurityEvidence, folder: Path) -> SuiteResult:
        outcome, reason = classify_security(evidence)
        findings_file = write_findings(folder / "findings.json", evidence)
        write_allure(context, evidence)
        counts = evidence.severity_counts()
        values = {f"security.findings.{severity}": count for severity, count in counts.items()}
        values["security.dast.failures"] = evidence.dast_failures()
        values["security.sast.stale_entries"] = len(evidence.stale_entries)
        unknown = "" if outcome in (SuiteOutcome.PASSED, SuiteOutcome.FAILED) else reason
        metrics = metric_from(context, self.name, findings_file, values, unknown)
        if evidence.tls is not None and evidence.tls.days_to_expiry is not None:
            days = {"security.tls.days_to_expiry": evidence.tls.days_to_expiry}
            metrics += metric_from(context, self.name, findings_file, days, unknown)
        return SuiteResult(outcome, reason, None, metrics)


def classify_security(evidence: SecurityEvidence) -> tuple[SuiteOutcome, str]:
    """Decide the security suite's outcome from the SAST report and the probe results together.

    A SAST tool error or an unreachable deployment makes the suite an ERROR, because the other
    parts' silence would then prove nothing.
    """
    if isinstance(evidence.sast, EvidenceError):
        return SuiteOutcome.ERROR, f"SAST tool error: {evidence.sast}"
    if evidence.dast_error:
        return SuiteOutcome.ERROR, f"DAST could not run: {evidence.dast_error}"
    counts = evidence.severity_counts()
    problems = sum(counts.values()) + len(evidence.stale_entries) + evidence.dast_failures()
    summary = (
        f"{counts['high']} high, {counts['medium']} medium, {counts['low']} low findings, "
        f"{evidence.dast_failures()} DAST failures, {len(evidence.stale_entries)} stale "
        f"baseline entries; bandit scanned {evidence.sast.lines_scanned} lines"
    )
    return (SuiteOutcome.FAILED if problems else SuiteOutcome.PASSED), summary


def bandit_command(
    security: SecurityFile, root: Path, report_format: str, output: Path
) -> list[str]:
    targets = [str(root / target) for target in security.sast.targets]
    command = [sys.executable, "-m", "bandit", "-r", *targets, "-f", report_format]
    return [*command, "-o", str(output.resolve()), "-q"]


def run_sast(
    context: RunContext, security: SecurityFile, folder: Path
) -> BanditReport | EvidenceError:
    """Run bandit for JSON and SARIF evidence and cross-check the JSON report with the exit code."""
    root = context.root.resolve()
    exit_codes = []
    for report_format, name in (("json", "bandit.json"), ("sarif", "bandit.sarif")):
        exit_codes.append(
            run_logged(
                bandit_command(security, root, report_format, folder / name),
                cwd=root,
                env=dict(os.environ),
                output=context.run.subdir("logs") / "bandit.log",
                timeout_s=context.options.timeout_s,
            )
        )
    try:
        report = parse_bandit(folder / "bandit.json", root)
    except EvidenceError as error:
        return error
    sarif = folder / "bandit.sarif"
    if not sarif.is_file() or sarif.stat().st_size == 0:
        return EvidenceError("bandit wrote no SARIF report; see logs/bandit.log")
    return check_bandit_exit(report, exit_codes)


def check_bandit_exit(report: BanditReport, exit_codes: list[int]) -> BanditReport | EvidenceError:
    # bandit exits 1 exactly when it reports a finding, accepted or not, and 0 otherwise.
    expected = 1 if report.findings else 0
    if any(code != expected for code in exit_codes):
        return EvidenceError(
            f"bandit exit codes {exit_codes} contradict {len(report.findings)} findings"
        )
    return report


def split_findings(report: BanditReport, baseline: Baseline) -> tuple[list[SastFinding], list[str]]:
    new, stale = apply_baseline(report.findings, baseline)
    for entry in stale:
        log.warning("stale baseline entry, remove it: %s", entry)
    return new, stale


def run_probes(context: RunContext, evidence: SecurityEvidence) -> None:
    """Run DAST and, for an HTTPS deployment, the TLS checks; record why when they cannot run."""
    deployment = context.deployment
    try:
        with dast_client(context) as client:
            target = dast_target(context, client)
            probe_username = f"dast-probe-{context.run.run_id[-6:]}"
            evidence.probes = run_dast(target, probe_username)
    except (httpx.HTTPError, ValueError, KeyError) as error:
        evidence.dast_error = f"{deployment.base_url}: {error or type(error).__name__}"
        log.error("DAST could not run: %s", evidence.dast_error)
        return
    if deployment.base_url.startswith("https://"):
        evidence.tls = check_tls(deployment.base_url, deployment.ca_file)
        evidence.probes += evidence.tls.results


def dast_client(context: RunContext) -> httpx.Client:
    return httpx.Client(
        base_url=context.deployment.base_url,
        timeout=context.environment.target.request_timeout_s,
        verify=tls_verification(context.deployment.ca_file),
    )


def dast_target(context: RunContext, client: httpx.Client) -> DastTarget:
    environment = context.environment
    settings = environment.contract
    account = context.deployment.accounts[settings.actor]
    response = client.get(settings.openapi_url)
    response.raise_for_status()
    password = os.environ.get(account["password_env"], "")
    secret_env = environment.target.token_secret_env
    token_secret = os.environ.get(secret_env, "") if secret_env else ""
    return DastTarget(
        client=client,
        openapi=response.json(),
        login_path=settings.login_path,
        username=account["username"],
        password=password,
        token_secret=token_secret,
        web_client_path=environment.security.web_client_path,
        max_login_attempts=environment.security.max_login_attempts,
        allow_writes=not environment.sensitive or context.options.allow_writes,
        secrets=tuple(filter(None, [password, token_secret])),
    )


def write_findings(path: Path, evidence: SecurityEvidence) -> Path:
    data = {
        "sast_error": str(evidence.sast) if isinstance(evidence.sast, EvidenceError) else "",
        "sast_new_findings": [asdict(finding) for finding in evidence.new_findings],
        "stale_baseline_entries": evidence.stale_entries,
        "dast_error": evidence.dast_error,
        "probes": [asdict(probe) for probe in evidence.probes],
        "tls_days_to_expiry": evidence.tls.days_to_expiry if evidence.tls else None,
    }
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    return path


def write_allure(context: RunContext, evidence: SecurityEvidence) -> None:
    findings = [sast_result(finding) for finding in evidence.new_findings]
    findings += [stale_result(entry) for entry in evidence.stale_entries]
    findings += [probe_result(probe) for probe in evidence.probes]
    write_finding_results(context.run.subdir("allure-results"), context.run.manifest, findings)


def sast_result(finding: SastFinding) -> FindingResult:
    severity = finding.severity.lower()
    return FindingResult(
        suite="security",
        key=f"sast:{finding.test_id}:{finding.path}:{finding.code}",
        name=f"{finding.test_id} {finding.text} ({finding.path}:{finding.line})",
        status="failed",
        message=f"{finding.severity} severity, {finding.confidence} confidence: {finding.code}",
        labels={"feature": "SAST", "severity": ALLURE_SEVERITY[severity], "tag": severity},
        parameters={"check": finding.test_id, "file": f"{finding.path}:{finding.line}"},
    )


def stale_result(entry: str) -> FindingResult:
    return FindingResult(
        suite="security",
        key=f"stale:{entry}",
        name=f"stale baseline entry: {entry}",
        status="failed",
        message="no finding matches this accepted entry any more; remove it from the baseline",
        labels={"feature": "SAST", "severity": "normal", "tag": "baseline"},
    )


def probe_result(probe: ProbeResult) -> FindingResult:
    category = "TLS" if probe.check == "tls" else "DAST"
    return FindingResult(
        suite="security",
        key=f"{probe.check}:{probe.subject}:{probe.detail.split(':', 1)[0]}",
        name=f"{probe.check}: {probe.subject}",
        status=ALLURE_STATUS[probe.passed],
        message=probe.detail,
        labels={
            "feature": category,
            "severity": ALLURE_SEVERITY[probe.severity],
            "tag": probe.severity,
        },
        parameters={"check": probe.check, "subject": probe.subject},
    )
