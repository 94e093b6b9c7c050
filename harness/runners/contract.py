"""The contract runner: schemathesis tests the environment's API against its OpenAPI document."""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path

import httpx

from harness.config.environment import ContractSettings, Environment
from harness.evidence.junit import EvidenceError
from harness.evidence.redaction import redact
from harness.evidence.schemathesis import ContractFailure, ContractReport, parse_schemathesis_junit
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
from harness.target import tls_verification

__all__ = ["ContractRunner", "classify_schemathesis"]

log = logging.getLogger(__name__)

# Methods that change nothing on the server, the only ones sent to a sensitive environment.
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
# schemathesis's unsupported_method check sends undocumented methods such as DELETE on purpose,
# which a sensitive environment must not receive unless writes are allowed.
WRITING_CHECKS = ("unsupported_method",)
SERVER_ERROR_CHECK = "ST101"


class ContractRunner:
    """Runs schemathesis 4 with every built-in check and its stateful phase over OpenAPI links."""

    name = "contract"
    needs_target = True

    def preflight(
        self, root: Path, options: SuiteOptions, environment: Environment, environment_path: Path
    ) -> None:
        require_modules({"schemathesis": "schemathesis"}, "contract")

    def run(self, context: RunContext) -> SuiteResult:
        folder = context.run.subdir("contract")
        junit = folder / "schemathesis.xml"
        problem = fetch_openapi(context, folder / "openapi.json") or check_actor(context)
        if problem:
            log.error("contract suite not started: %s", problem)
            metrics = metric_from(context, self.name, junit, contract_values(0, 0, 0), problem)
            return SuiteResult(SuiteOutcome.ERROR, problem, None, metrics)

        exit_code = run_logged(
            schemathesis_command(context, folder),
            cwd=folder,
            env=dict(os.environ),
            output=context.run.subdir("logs") / "contract.log",
            timeout_s=context.options.timeout_s,
        )
        return self.result(context, exit_code, junit)

    def result(self, context: RunContext, exit_code: int, junit: Path) -> SuiteResult:
        try:
            report: ContractReport | EvidenceError = parse_schemathesis_junit(junit)
        except EvidenceError as error:
            report = error
        outcome, reason = classify_schemathesis(exit_code, report)
        if isinstance(report, EvidenceError):
            metrics = metric_from(context, self.name, junit, contract_values(0, 0, 0), reason)
            return SuiteResult(outcome, reason, exit_code, metrics)

        write_failures(context, report.failures)
        values = contract_values(report.operations_tested, report.failure_count, report.error_count)
        # Only a report that agrees with the exit code yields numbers a gate may trust.
        unknown = "" if outcome in (SuiteOutcome.PASSED, SuiteOutcome.FAILED) else reason
        metrics = metric_from(context, self.name, junit, values, unknown)
        return SuiteResult(outcome, reason, exit_code, metrics)


def classify_schemathesis(
    exit_code: int, report: ContractReport | EvidenceError
) -> tuple[SuiteOutcome, str]:
    """Decide the contract suite's outcome from schemathesis's exit code and JUnit report together.

    schemathesis 4 exits 0 when every check passed, 1 when a check failed or an operation
    errored, 2 when it could not run or tested nothing, and 130 when interrupted. A report and an
    exit code that disagree make the run inconclusive, which is an ERROR.
    """
    if exit_code == -1:
        return SuiteOutcome.ERROR, "schemathesis timed out; raise --timeout or lower max_time_s"
    if isinstance(report, EvidenceError):
        return SuiteOutcome.NO_EVIDENCE, f"{report} (schemathesis exit code {exit_code})"
    if report.operations_tested == 0:
        return SuiteOutcome.NO_EVIDENCE, "schemathesis tested no API operation"
    broken = report.failure_count + report.error_count
    summary = f"{report.failure_count} failures and {report.error_count} errors"
    if exit_code == 0 and broken == 0:
        return SuiteOutcome.PASSED, f"{report.operations_tested} operations passed every check"
    if exit_code == 1 and broken > 0:
        return SuiteOutcome.FAILED, f"{summary} in {report.operations_tested} operations"
    if exit_code in (0, 1):
        return SuiteOutcome.ERROR, f"inconclusive: exit code {exit_code} contradicts {summary}"
    return (
        SuiteOutcome.ERROR,
        f"schemathesis ended with exit code {exit_code}; see logs/contract.log",
    )


def contract_values(tested: int, failures: int, errors: int) -> dict[str, int]:
    return {
        "contract.operations_tested": tested,
        "contract.failures": failures,
        "contract.errors": errors,
    }


def openapi_location(context: RunContext) -> str:
    url = context.environment.contract.openapi_url
    return url if "://" in url else f"{context.deployment.base_url}{url}"


def fetch_openapi(context: RunContext, destination: Path) -> str:
    """Download the OpenAPI document into the run folder, or return why it is unusable."""
    url = openapi_location(context)
    timeout_s = context.environment.target.request_timeout_s
    try:
        verify = tls_verification(context.deployment.ca_file)
        response = httpx.get(url, timeout=timeout_s, verify=verify)
        response.raise_for_status()
    except httpx.HTTPError as error:
        return f"OpenAPI document {url} is unreachable: {error or type(error).__name__}"
    problem = openapi_problem(response.text)
    if problem:
        return f"OpenAPI document {url} {problem}; check contract.openapi_url"
    destination.write_text(response.text, encoding="utf-8")
    return ""


def openapi_problem(text: str) -> str:
    """Return why `text` is not an OpenAPI 3 document in JSON, or "" when it is one."""
    try:
        document = json.loads(text)
    except ValueError as error:
        return f"does not parse as JSON ({error})"
    if not isinstance(document, dict) or not str(document.get("openapi", "")).startswith("3"):
        return "is JSON but not an OpenAPI 3 document (no 'openapi: 3.x' field)"
    if not isinstance(document.get("paths"), dict):
        return "has no 'paths' object"
    return ""


def check_actor(context: RunContext) -> str:
    actor = context.environment.contract.actor
    if actor in context.deployment.accounts:
        return ""
    known = ", ".join(sorted(context.deployment.accounts)) or "(none)"
    environment = context.environment.name
    return f"contract.actor {actor!r} is not an account of {environment}; use one of: {known}"


def write_auth_config(context: RunContext, path: Path) -> None:
    """Write schemathesis's config: log in through the login operation, and again on a 401.

    The password stays in its environment variable; schemathesis expands ${VAR} when it loads
    the file.
    """
    settings = context.environment.contract
    account = context.deployment.accounts[settings.actor]
    lines = [
        f"[auth.dynamic.openapi.{json.dumps(settings.security_scheme)}]",
        f"path = {json.dumps(settings.login_path)}",
        f"payload = {{ username = {json.dumps(account['username'])}, "
        f'password = "${{{account["password_env"]}}}" }}',
        f"extract_selector = {json.dumps(settings.token_pointer)}",
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def schemathesis_command(context: RunContext, folder: Path) -> list[str]:
    settings: ContractSettings = context.environment.contract
    # schemathesis runs inside the folder, so every path it gets is absolute.
    folder = folder.resolve()
    config = folder / "schemathesis.toml"
    write_auth_config(context, config)
    command = [sys.executable, "-m", "schemathesis.cli", "--config-file", str(config), "run"]
    command += [str(folder / "openapi.json"), "--url", context.deployment.base_url]
    command += ["--checks", "all", "--max-examples", str(settings.max_examples)]
    command += ["--request-timeout", str(context.environment.target.request_timeout_s)]
    command += ["--report", "junit,ndjson", "--report-junit-path", str(folder / "schemathesis.xml")]
    command += ["--report-ndjson-path", str(folder / "events.ndjson")]
    command += ["--generation-database", "none", "--no-color"]
    if settings.max_time_s is not None:
        command += ["--max-time", str(settings.max_time_s)]
    if settings.seed is not None:
        command += ["--seed", str(settings.seed)]
    if context.deployment.ca_file:
        command += ["--tls-verify", context.deployment.ca_file]
    return command + safety_options(context)


def safety_options(context: RunContext) -> list[str]:
    """Restrict a sensitive environment to safe methods unless --allow-writes was given."""
    if not context.environment.sensitive or context.options.allow_writes:
        return []
    options = []
    for method in SAFE_METHODS:
        options += ["--include-method", method]
    return [*options, "--exclude-checks", ",".join(WRITING_CHECKS)]


def write_failures(context: RunContext, failures: list[ContractFailure]) -> None:
    secrets = account_passwords(context)
    findings = [failure_finding(failure, index, secrets) for index, failure in enumerate(failures)]
    write_finding_results(context.run.subdir("allure-results"), context.run.manifest, findings)


def account_passwords(context: RunContext) -> list[str]:
    variables = [account["password_env"] for account in context.deployment.accounts.values()]
    return [os.environ.get(variable, "") for variable in variables]


def failure_finding(failure: ContractFailure, index: int, secrets: list[str]) -> FindingResult:
    codes = [check.split(" ", 1)[0] for check in failure.checks]
    reproduction = redact(failure.reproduction, secrets) or "(schemathesis printed no command)"
    kind = "error" if failure.error else "failure"
    return FindingResult(
        suite="contract",
        key=f"{failure.operation}:{','.join(codes)}:{index}",
        name=f"{failure.operation}: {failure.checks[0]}",
        status="broken" if failure.error else "failed",
        message=f"{kind} of {', '.join(failure.checks)}; reproduce with: {reproduction}",
        details=redact(failure.message, secrets),
        labels={
            "feature": "API contract",
            "story": failure.operation,
            "severity": "critical" if SERVER_ERROR_CHECK in codes else "normal",
            "tag": ",".join(codes),
        },
        parameters={
            "operation": failure.operation,
            "check": ", ".join(failure.checks),
            "reproduction": reproduction,
        },
    )
