"""Allure additions the suites cannot write themselves: run context, gates and tool findings."""

from __future__ import annotations

import hashlib
import json
import shutil
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from harness import __version__
from harness.evaluation import GateResult, Outcome, format_fraction
from harness.evidence.allure import QUARANTINED_PREFIX, mark_quarantined
from harness.evidence.quarantine import read_reviews
from harness.runs import RunManifest

__all__ = [
    "Attachment",
    "FindingResult",
    "executor_info",
    "write_categories",
    "write_environment_properties",
    "write_executor",
    "write_finding_results",
    "write_gate_results",
    "write_quarantine_results",
    "write_suite_result",
]

# An attachment's title, its file, and its MIME type.
Attachment = tuple[str, Path, str]

# Allure assigns each failed or broken result to the first category that matches it, so the
# gate and quarantine categories come before the general ones.
CATEGORIES = [
    {"name": "Gate breach", "matchedStatuses": ["failed"], "messageRegex": "^(FAIL|WARN): .*"},
    {
        "name": "Gate without evidence",
        "matchedStatuses": ["broken"],
        "messageRegex": "^(NO_EVIDENCE|INCOMPARABLE): .*",
    },
    # A quarantined failure's message starts with QUARANTINED_PREFIX and may span lines.
    {
        "name": "Quarantined",
        "matchedStatuses": ["failed", "broken", "skipped"],
        "messageRegex": f"(?s)^{QUARANTINED_PREFIX}.*",
    },
    {"name": "Product defect", "matchedStatuses": ["failed"]},
    {"name": "Infrastructure error", "matchedStatuses": ["broken"]},
    {"name": "Flaky", "matchedStatuses": ["passed", "failed", "broken"], "flaky": True},
]

ALLURE_STATUS = {
    Outcome.PASS: "passed",
    Outcome.WARN: "failed",
    Outcome.FAIL: "failed",
    Outcome.NO_EVIDENCE: "broken",
    Outcome.INCOMPARABLE: "broken",
}


def write_environment_properties(results_dir: Path, manifest: RunManifest) -> None:
    """Write environment.properties, which Allure shows as the report's environment widget."""
    results_dir.mkdir(parents=True, exist_ok=True)
    properties = {
        "environment": manifest.environment,
        "stage": manifest.stage,
        "build": manifest.build_id,
        "version": manifest.version,
        "target": manifest.target_url,
        "run": manifest.run_id,
        "harness": __version__,
    }
    lines = [f"{key}={escape_property(value)}" for key, value in properties.items()]
    (results_dir / "environment.properties").write_text("\n".join(lines) + "\n", encoding="utf-8")


def executor_info(run_id: str, env: dict[str, str]) -> dict[str, str]:
    """Describe the CI job from the variables GitHub Actions, GitLab CI and Jenkins set."""
    if env.get("GITHUB_ACTIONS") == "true":
        server = env.get("GITHUB_SERVER_URL", "https://github.com")
        run_number = env.get("GITHUB_RUN_ID", "")
        url = f"{server}/{env.get('GITHUB_REPOSITORY', '')}/actions/runs/{run_number}"
        return {
            "name": "GitHub Actions",
            "type": "github",
            "buildName": env.get("GITHUB_RUN_ID", ""),
            "buildUrl": url,
            "reportName": run_id,
        }
    if env.get("GITLAB_CI") == "true":
        return {
            "name": "GitLab CI",
            "type": "gitlab",
            "buildName": env.get("CI_JOB_ID", ""),
            "buildUrl": env.get("CI_JOB_URL", ""),
            "reportName": run_id,
        }
    if env.get("JENKINS_URL"):
        return {
            "name": "Jenkins",
            "type": "jenkins",
            "buildName": env.get("BUILD_NUMBER", ""),
            "buildUrl": env.get("BUILD_URL", ""),
            "reportName": run_id,
        }
    return {"name": "harness", "type": "local", "buildName": run_id, "reportName": run_id}


def write_executor(results_dir: Path, run_id: str, env: dict[str, str]) -> None:
    data = executor_info(run_id, env)
    (results_dir / "executor.json").write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")


def write_categories(results_dir: Path) -> None:
    text = json.dumps(CATEGORIES, indent=2) + "\n"
    (results_dir / "categories.json").write_text(text, encoding="utf-8")


def escape_property(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace("=", "\\=").replace(":", "\\:")


def write_gate_results(results_dir: Path, manifest: RunManifest, results: list[GateResult]) -> None:
    """Write each gate as an Allure test result, so the report lists gates beside the tests.

    File names derive from run, stage and gate, so re-evaluating a run replaces its gate results.
    """
    results_dir.mkdir(parents=True, exist_ok=True)
    now_ms = int(time.time() * 1000)
    for result in results:
        data = gate_result_json(manifest, result, now_ms)
        path = results_dir / f"{data['uuid']}-result.json"
        path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")


def gate_result_json(manifest: RunManifest, result: GateResult, now_ms: int) -> dict[str, object]:
    gate = result.gate
    actual = "-" if result.actual is None else format_fraction(result.actual)
    history_id = hashlib.sha256(f"gate:{manifest.stage}:{gate.name}".encode()).hexdigest()
    return {
        "uuid": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{manifest.run_id}/{history_id}")),
        "historyId": history_id,
        "name": f"gate {gate.name}: {gate.metric_key} {gate.describe_limit()}",
        "fullName": f"gates.{manifest.stage}.{gate.name}",
        "status": ALLURE_STATUS[result.outcome],
        "statusDetails": {"message": f"{result.outcome}: {result.reason}"},
        "stage": "finished",
        "start": now_ms,
        "stop": now_ms,
        "labels": [
            {"name": "parentSuite", "value": "gates"},
            {"name": "suite", "value": manifest.stage},
            {"name": "feature", "value": "promotion gates"},
            {"name": "severity", "value": "blocker" if gate.blocking else "normal"},
        ],
        "parameters": [
            {"name": "metric", "value": gate.metric_key},
            {"name": "actual", "value": actual},
            {"name": "threshold", "value": gate.describe_limit()},
            {"name": "outcome", "value": result.outcome.value},
            *baseline_parameters(result),
        ],
    }


def baseline_parameters(result: GateResult) -> list[dict[str, str]]:
    """Return the baseline build, its value and the limit, for a gate compared with one."""
    used = result.baseline
    if result.gate.baseline is None or used is None:
        return []
    parameters = [{"name": "baseline build", "value": used.build_id}]
    if used.value is not None and used.limit is not None:
        parameters.append({"name": "baseline value", "value": format_fraction(used.value)})
        parameters.append({"name": "limit", "value": format_fraction(used.limit)})
    return parameters


@dataclass(frozen=True)
class FindingResult:
    """A finding of a tool the harness runs directly (schemathesis, bandit, a probe) for Allure.

    `key` identifies the finding across runs, so Allure's history links its occurrences.
    `status` is an Allure status: "failed" for a finding, "broken" for a tool error.
    """

    suite: str
    key: str
    name: str
    status: str
    message: str
    details: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    parameters: dict[str, str] = field(default_factory=dict)


def write_finding_results(
    results_dir: Path, manifest: RunManifest, findings: list[FindingResult]
) -> None:
    """Write each finding as an Allure test result, with its labels and parameters."""
    results_dir.mkdir(parents=True, exist_ok=True)
    now_ms = int(time.time() * 1000)
    for finding in findings:
        data = finding_result_json(manifest, finding, now_ms)
        path = results_dir / f"{data['uuid']}-result.json"
        path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")


def finding_result_json(
    manifest: RunManifest, finding: FindingResult, now_ms: int
) -> dict[str, object]:
    history_id = hashlib.sha256(f"{finding.suite}:{finding.key}".encode()).hexdigest()
    labels = {"parentSuite": finding.suite, "suite": finding.suite, **finding.labels}
    return {
        "uuid": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{manifest.run_id}/{history_id}")),
        "historyId": history_id,
        "name": finding.name,
        "fullName": f"{finding.suite}.{finding.key}",
        "status": finding.status,
        "statusDetails": {"message": finding.message, "trace": finding.details},
        "stage": "finished",
        "start": now_ms,
        "stop": now_ms,
        "labels": [{"name": name, "value": value} for name, value in labels.items()],
        "parameters": [
            {"name": name, "value": value} for name, value in finding.parameters.items()
        ],
    }


def write_suite_result(
    results_dir: Path,
    manifest: RunManifest,
    suite: str,
    status: str,
    message: str,
    attachments: list[Attachment],
) -> None:
    """Write one Allure result for a suite that has no pytest report, with its files attached.

    Each attachment is copied into the results folder, where Allure expects it.
    """
    results_dir.mkdir(parents=True, exist_ok=True)
    now_ms = int(time.time() * 1000)
    entries = []
    for title, path, mime in attachments:
        if not path.is_file():
            continue
        source = f"{uuid.uuid4()}-attachment{path.suffix}"
        shutil.copyfile(path, results_dir / source)
        entries.append({"name": title, "source": source, "type": mime})
    history_id = hashlib.sha256(f"suite:{suite}".encode()).hexdigest()
    data = {
        "uuid": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{manifest.run_id}/{history_id}")),
        "historyId": history_id,
        "name": f"{suite} suite",
        "fullName": f"suites.{suite}",
        "status": status,
        "statusDetails": {"message": message},
        "stage": "finished",
        "start": now_ms,
        "stop": now_ms,
        "labels": [{"name": "parentSuite", "value": "suites"}, {"name": "suite", "value": suite}],
        "attachments": entries,
    }
    path = results_dir / f"{data['uuid']}-result.json"
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")


def write_quarantine_results(results_dir: Path, manifest: RunManifest, run_path: Path) -> None:
    """Show every excused failure in Allure under the "Quarantined" category.

    The failed result allure-pytest wrote for the test gets the quarantine in its message. A test
    whose result has no JUnit id to match (a pytest-bdd scenario, a test with an Allure title)
    gets a skipped result of its own instead.
    """
    excused = [test for review in read_reviews(run_path).values() for test in review.excused]
    summaries = {test.test: test.summary() for test in excused}
    matched = mark_quarantined(results_dir, summaries) if summaries else set()
    findings = [
        FindingResult(
            suite=test.suite,
            key=f"quarantine:{test.test}",
            name=f"quarantined {test.test}",
            status="skipped",
            message=f"{QUARANTINED_PREFIX}{test.summary()}",
            labels={"tag": "quarantined", "owner": test.owner},
            parameters={"outcome": test.outcome, "expires": test.expires},
        )
        for test in excused
        if test.test not in matched
    ]
    write_finding_results(results_dir, manifest, findings)
