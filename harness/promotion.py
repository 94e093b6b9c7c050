"""Promotion records: an immutable account of why a build entered a stage, and the ledger of them.

A record lists every gate with its actual value and threshold, the waivers used, the hash of
gates.toml, tool versions and the sha256 of every evidence file in the run folder. Records are
appended to reports/ledger.jsonl under an exclusive file lock; each ledger line carries the hash of
the line before it, so an edited or removed line breaks the chain that `harness verify` checks.
"""

from __future__ import annotations

import datetime
import fcntl
import hashlib
import importlib.metadata
import json
import os
import platform
import uuid
from dataclasses import dataclass
from pathlib import Path

from harness import __version__
from harness.config.gates import GatesFile
from harness.config.waivers import Waiver
from harness.errors import Problem, UsageError
from harness.evaluation import apply_waivers, evaluate_stage
from harness.metrics import file_sha256
from harness.runs import RunFolder, utc_now
from harness.verdict import Verdict, VerdictReport, decide, result_as_json

__all__ = ["PromotionRefused", "promote", "verify_record"]

LEDGER_NAME = "ledger.jsonl"
GENESIS = "0" * 64
LEDGER_FIELDS = ["record_id", "created_at", "run_id", "build_id", "environment", "stage", "verdict"]
# Diagnostics change whenever a run is looked at again; they are not evidence.
UNHASHED_DIRS = {"logs"}
TOOLS = [
    "pytest",
    "pytest-bdd",
    "pytest-xdist",
    "allure-pytest",
    "allure-pytest-bdd",
    "coverage",
    "schemathesis",
    "bandit",
    "playwright",
    "locust",
    "Appium-Python-Client",
]


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


def tool_versions() -> dict[str, str]:
    versions = {"python": platform.python_version(), "harness": __version__}
    for name in TOOLS:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return versions


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
    results = evaluate_stage(gates.stage(stage, gates_path), run)
    results = apply_waivers(results, waivers, manifest.build_id, stage, today)
    report = decide(results, f"stage {stage}")
    if report.verdict is Verdict.FAIL:
        raise PromotionRefused(report)

    record = build_record(run, report, stage, file_sha256(gates_path))
    path = write_record(run.path / record_name(stage), record)
    digest = file_sha256(path)
    append_to_ledger(run.path.parent.parent / LEDGER_NAME, record, path, digest)
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
    }


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
    problems += ledger_problems(run_path.parent.parent / LEDGER_NAME, file_sha256(path), record)
    return problems


def ledger_problems(ledger: Path, digest: str, record: dict[str, object]) -> list[str]:
    if not ledger.is_file():
        return [f"ledger {ledger} is missing"]
    lines = ledger.read_text(encoding="utf-8").splitlines()
    problems = []
    previous = GENESIS
    found = False
    for number, line in enumerate(lines, start=1):
        try:
            entry = json.loads(line)
        except ValueError:
            problems.append(f"ledger line {number} is not valid JSON")
            entry = {}
        if entry.get("previous_sha256") != previous:
            problems.append(f"ledger line {number} does not follow line {number - 1}: chain broken")
        previous = hashlib.sha256(line.encode()).hexdigest()
        if entry.get("record_id") == record["record_id"]:
            found = True
            if entry.get("record_sha256") != digest:
                problems.append("the record changed after it was written to the ledger")
    if not found:
        problems.append(f"record {record['record_id']} is not in the ledger")
    return problems
