"""Manual checks: scenarios tagged @manual that a person performs and signs off per build.

A uat run writes the sign-off sheet (`signoff/sheet.json`) listing every manual item; `harness
signoff` appends a person's pass or fail to `signoff/signoffs.json` and recomputes the
`uat.manual.*` metrics, so a stage can require every item signed before promotion.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from harness.errors import Problem, UsageError
from harness.metrics import Metric, MetricStore, file_sha256
from harness.runs import RunFolder, utc_now, write_json_atomically
from harness.scenarios import feature_files

__all__ = ["ManualItem", "SignOff", "manual_items", "record_signoff", "write_sheet"]

MANUAL_TAG = "@manual"
SHEET = "signoff/sheet.json"
SIGNOFFS = "signoff/signoffs.json"
RESULTS = ("pass", "fail")


@dataclass(frozen=True)
class ManualItem:
    """One manual check: a scenario tagged @manual and the steps a person follows."""

    item_id: str
    feature: str
    scenario: str
    steps: list[str]


@dataclass(frozen=True)
class SignOff:
    """A person's result for one manual item on one build."""

    item_id: str
    build_id: str
    result: str
    signed_by: str
    comment: str
    signed_at: str


def manual_items(scenario_dir: Path) -> list[ManualItem]:
    """List the scenarios tagged @manual, directly or through their feature."""
    # gherkin comes with the uat extra; other suites' installs import this module without it.
    from gherkin.parser import Parser
    from gherkin.token_scanner import TokenScanner

    items = []
    for path in feature_files(scenario_dir):
        document: Any = Parser().parse(TokenScanner(path.read_text(encoding="utf-8")))
        feature = document.get("feature") or {}
        feature_tags = {tag["name"] for tag in feature.get("tags", [])}
        for child in feature.get("children", []):
            scenario = child.get("scenario")
            if scenario is None:
                continue
            tags = feature_tags | {tag["name"] for tag in scenario.get("tags", [])}
            if MANUAL_TAG in tags:
                items.append(item_from(path.relative_to(scenario_dir), feature, scenario))
    return items


def item_from(path: Path, feature: Any, scenario: Any) -> ManualItem:
    """Describe one scenario; gherkin's parsed documents are nested dictionaries."""
    steps = [f"{step['keyword'].strip()} {step['text']}" for step in scenario["steps"]]
    return ManualItem(
        f"{path.as_posix()}::{scenario['name']}", str(feature["name"]), str(scenario["name"]), steps
    )


def write_sheet(run: RunFolder, scenario_dir: Path) -> list[Metric]:
    """Write the sign-off sheet for the run's build and return the manual metrics."""
    items = manual_items(scenario_dir)
    sheet = {"build_id": run.manifest.build_id, "items": [asdict(item) for item in items]}
    run.subdir("signoff")
    write_json_atomically(run.path / SHEET, sheet)
    signoffs = run.path / SIGNOFFS
    if not signoffs.exists():
        write_json_atomically(signoffs, {"signoffs": []})
    return manual_metrics(run)


def read_signoffs(run: RunFolder) -> list[SignOff]:
    data = json.loads((run.path / SIGNOFFS).read_text(encoding="utf-8"))
    return [SignOff(**entry) for entry in data["signoffs"]]


def manual_metrics(run: RunFolder) -> list[Metric]:
    """Count signed, failed and unsigned items; sign-offs for another build do not count.

    While any item is unsigned, `uat.manual.failed` is unknown, so a gate on it is NO_EVIDENCE.
    """
    sheet = json.loads((run.path / SHEET).read_text(encoding="utf-8"))
    item_ids = [item["item_id"] for item in sheet["items"]]
    latest = {s.item_id: s for s in read_signoffs(run) if s.build_id == run.manifest.build_id}
    signed = [latest[item] for item in item_ids if item in latest]
    unsigned = len(item_ids) - len(signed)
    failed = sum(1 for signoff in signed if signoff.result == "fail")
    values = {
        "uat.manual.total": len(item_ids),
        "uat.manual.signed": len(signed),
        "uat.manual.unsigned": unsigned,
    }
    metrics = [make_metric(run, name, value, "") for name, value in values.items()]
    reason = f"{unsigned} manual items are not signed off for build {run.manifest.build_id}"
    metrics.append(make_metric(run, "uat.manual.failed", failed, reason if unsigned else ""))
    return metrics


def make_metric(run: RunFolder, name: str, value: int, unknown_reason: str) -> Metric:
    manifest = run.manifest
    evidence = run.path / SIGNOFFS
    return Metric(
        name=name,
        suite="uat",
        run_id=manifest.run_id,
        build_id=manifest.build_id,
        environment=manifest.environment,
        evidence=SIGNOFFS,
        evidence_sha256=file_sha256(evidence),
        exact=None if unknown_reason else str(value),
        value=None if unknown_reason else float(value),
        unknown_reason=unknown_reason,
    )


def record_signoff(
    run: RunFolder, item_id: str, result: str, signed_by: str, comment: str, build: str | None
) -> SignOff:
    """Append a sign-off for the run's build, then rewrite the manual metrics and Allure result."""
    if not (run.path / SHEET).is_file():
        reason = f"run {run.run_id} has no sign-off sheet; run the uat suite first"
        raise UsageError(Problem.BAD_ARGUMENT, {"reason": reason})
    check_signoff(run, item_id, result, build)
    signoff = SignOff(
        item_id, run.manifest.build_id, result, signed_by or getpass.getuser(), comment, utc_now()
    )
    entries = [asdict(s) for s in read_signoffs(run)] + [asdict(signoff)]
    write_json_atomically(run.path / SIGNOFFS, {"signoffs": entries})
    MetricStore(run).write("uat-manual", manual_metrics(run))
    write_allure_result(run, signoff)
    return signoff


def check_signoff(run: RunFolder, item_id: str, result: str, build: str | None) -> None:
    sheet = json.loads((run.path / SHEET).read_text(encoding="utf-8"))
    known = [item["item_id"] for item in sheet["items"]]
    if item_id not in known:
        reason = f"unknown manual item {item_id!r}; choose one of: {', '.join(known) or '(none)'}"
        raise UsageError(Problem.BAD_ARGUMENT, {"reason": reason})
    if result not in RESULTS:
        raise UsageError(
            Problem.BAD_ARGUMENT, {"reason": f"result must be pass or fail, not {result!r}"}
        )
    if build is not None and build != run.manifest.build_id:
        tested = run.manifest.build_id
        reason = f"sign-off is for build {build} but run {run.run_id} tested build {tested}"
        raise UsageError(Problem.BAD_ARGUMENT, {"reason": reason})


def signed_message(signoff: SignOff) -> str:
    return f"signed {signoff.result} by {signoff.signed_by}: {signoff.comment}"


def write_allure_result(run: RunFolder, signoff: SignOff) -> None:
    """Show the sign-off in the same Allure report as the automated scenarios."""
    history_id = hashlib.sha256(f"manual:{signoff.item_id}".encode()).hexdigest()
    now_ms = int(time.time() * 1000)
    data = {
        "uuid": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{run.run_id}/{history_id}")),
        "historyId": history_id,
        "name": f"manual: {signoff.item_id.split('::', 1)[-1]}",
        "fullName": f"manual.{signoff.item_id}",
        "status": "passed" if signoff.result == "pass" else "failed",
        "statusDetails": {
            "message": f"signed {signoff.result} by {signoff.signed_by}: {signoff.comment}"
        },
        "stage": "finished",
        "start": now_ms,
        "stop": now_ms,
        "labels": [
            {"name": "parentSuite", "value": "manual checks"},
            {"name": "tag", "value": "manual"},
            {"name": "owner", "value": signoff.signed_by},
        ],
        "parameters": [{"name": "build", "value": signoff.build_id}],
    }
    results = run.subdir("allure-results")
    (results / f"{data['uuid']}-result.json").write_text(
        json.dumps(data, indent=2) + "\n", encoding="utf-8"
    )
