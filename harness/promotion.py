"""Promotion records: an immutable account of why a build entered a stage, and the ledger of them.

A record lists every gate with its actual value and threshold, the waivers used, the hash of
gates.toml, tool versions and the sha256 of every evidence file in the run folder. It also carries
the exact value of every metric and the run's fingerprint, so that a later build's baseline gates
can compare with this one. Records are
appended to reports/ledger.jsonl under an exclusive file lock; each ledger line carries the hash of
the line before it, so an edited or removed line breaks the chain that `harness verify` checks.
"""

from __future__ import annotations

import datetime
import fcntl
import hashlib
import json
import os
import uuid
from dataclasses import dataclass
from pathlib import Path

from harness.config.gates import GatesFile
from harness.config.waivers import Waiver
from harness.errors import Problem, UsageError
from harness.evaluation import apply_waivers, evaluate_stage
from harness.fingerprint import FingerprintError, read_fingerprint, tool_versions
from harness.ledger import GENESIS, ledger_path, read_chain
from harness.metrics import MetricStore, file_sha256
from harness.runs import RunFolder, utc_now
from harness.verdict import Verdict, VerdictReport, decide, result_as_json

__all__ = ["PromotionRefused", "promote", "tool_versions", "verify_record"]

LEDGER_FIELDS = ["record_id", "created_at", "run_id", "build_id", "environment", "stage", "verdict"]
# Diagnostics change whenever a run is looked at again; they are not evidence.
UNHASHED_DIRS = {"logs", "allure-report", "allure-report-single-file"}


class PromotionRefused(Exception):
    """The verdict is FAIL, so the build may not enter the stage."""

    def __init__(self, report: VerdictReport) -> None:
        super().__init__(report.reason)
        self.report = report


@dataclass(frozen=True)
class PromotionResult:
    """A written record and its line in the ledger."""

    record_path: Path
    record_sha256: str
    report: VerdictReport


def record_name(stage: str) -> str:
    return f"promotion-{stage}.json"


def evidence_hashes(run_path: Path) -> dict[str, str]:
    """Return the sha256 of every file in the run folder except diagnostics and records."""
    hashes = {}
    for path in sorted(run_path.rglob("*")):
        relative = path.relative_to(run_path)
        if not path.is_file() or relative.parts[0] in UNHASHED_DIRS:
            continue
        if relative.name.startswith("promotion-"):
            continue
        hashes[relative.as_posix()] = file_sha256(path)
    return hashes


def promote(
    run: RunFolder,
    gates: GatesFile,
    gates_path: Path,
    stage: str,
    waivers: list[Waiver],
    today: datetime.date,
) -> PromotionResult:
    """Evaluate every gate of `stage` on the run and, unless the verdict is FAIL, record it."""
    manifest = run.manifest
    results = evaluate_stage(gates.stage(stage, gates_path), run, stage_name=stage)
    results = apply_waivers(results, waivers, manifest.build_id, stage, today)
    report = decide(results, f"stage {stage}")
    if report.verdict is Verdict.FAIL:
        raise PromotionRefused(report)

    record = build_record(run, report, stage, file_sha256(gates_path))
    path = write_record(run.path / record_name(stage), record)
    digest = file_sha256(path)
    append_to_ledger(ledger_path(run.path), record, path, digest)
    return PromotionResult(path, digest, report)


def build_record(
    run: RunFolder, report: VerdictReport, stage: str, gates_sha: str
) -> dict[str, object]:
    manifest = run.manifest
    used = [r.waiver.model_dump(mode="json") for r in report.results if r.waiver is not None]
    return {
        "record_id": str(uuid.uuid4()),
        "created_at": utc_now(),
        "run_id": manifest.run_id,
        "build_id": manifest.build_id,
        "version": manifest.version,
        "environment": manifest.environment,
        "stage": stage,
        "verdict": report.verdict.value,
        "reason": report.reason,
        "gates": [result_as_json(result) for result in report.results],
        "waivers": used,
        "gates_toml_sha256": gates_sha,
        "tool_versions": tool_versions(),
        "evidence": evidence_hashes(run.path),
        "metrics": exact_metrics(run),
        "fingerprint": fingerprint_or_none(run),
    }


def exact_metrics(run: RunFolder) -> dict[str, str]:
    """Map each known metric's key to its exact value, for later baseline comparisons."""
    metrics, _ = MetricStore(run).read_all()
    return {
        key: metric.exact for key, metric in sorted(metrics.items()) if metric.exact is not None
    }


def fingerprint_or_none(run: RunFolder) -> dict[str, object] | None:
    """Return the run's fingerprint; None makes the record unusable as a baseline, not invalid."""
    try:
        return read_fingerprint(run.path)
    except FingerprintError:
        return None


def write_record(path: Path, record: dict[str, object]) -> Path:
    """Write the record once; an existing record for the stage is never replaced."""
    if path.exists():
        raise UsageError(Problem.ALREADY_PROMOTED, {"path": path})
    with path.open("x", encoding="utf-8") as stream:
        stream.write(json.dumps(record, indent=2, sort_keys=True) + "\n")
    path.chmod(0o444)
    return path


def append_to_ledger(ledger: Path, record: dict[str, object], path: Path, digest: str) -> None:
    """Append one line under an exclusive lock, chained to the hash of the previous line."""
    with ledger.open("a+", encoding="utf-8") as stream:
        fcntl.flock(stream, fcntl.LOCK_EX)
        try:
            stream.seek(0)
            lines = stream.read().splitlines()
            previous = hashlib.sha256(lines[-1].encode()).hexdigest() if lines else GENESIS
            entry = {key: record[key] for key in LEDGER_FIELDS}
            record_path = path.relative_to(ledger.parent).as_posix()
            entry.update(record_path=record_path, record_sha256=digest, previous_sha256=previous)
            stream.write(json.dumps(entry, sort_keys=True) + "\n")
            stream.flush()
            os.fsync(stream.fileno())
        finally:
            fcntl.flock(stream, fcntl.LOCK_UN)


def verify_record(path: Path) -> list[str]:
    """Recheck a record's evidence hashes and its ledger line; return every problem found."""
    path = path.resolve()
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
        recorded: dict[str, str] = record["evidence"]
    except (OSError, ValueError, KeyError, TypeError) as error:
        return [f"record {path} is unreadable: {error}"]
    run_path = path.parent
    problems = []
    for relative, expected in sorted(recorded.items()):
        evidence = run_path / relative
        if not evidence.is_file():
            problems.append(f"{relative} is missing")
        elif file_sha256(evidence) != expected:
            problems.append(f"{relative} changed since the promotion")
    extra = sorted(set(evidence_hashes(run_path)) - set(recorded))
    problems += [f"{relative} was added after the promotion" for relative in extra]
    problems += ledger_problems(ledger_path(run_path), file_sha256(path), record)
    return problems


def ledger_problems(ledger: Path, digest: str, record: dict[str, object]) -> list[str]:
    if not ledger.is_file():
        return [f"ledger {ledger} is missing"]
    entries, problems = read_chain(ledger)
    matching = [entry for entry in entries if entry.get("record_id") == record["record_id"]]
    if not matching:
        problems.append(f"record {record['record_id']} is not in the ledger")
    elif any(entry.get("record_sha256") != digest for entry in matching):
        problems.append("the record changed after it was written to the ledger")
    return problems
