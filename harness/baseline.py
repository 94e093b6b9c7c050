"""Baselines: the last build promoted to a stage on an environment, found through the ledger.

A baseline gate holds a metric against the same metric of that build. The build's promotion
record provides the exact metric values and the fingerprint; it is used only when the ledger's
chain verifies and the record still has the sha256 the ledger holds for it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

from harness.fingerprint import Fingerprint, fingerprint_differences
from harness.ledger import ledger_path, read_chain
from harness.metrics import file_sha256

__all__ = ["Baseline", "BaselineUnavailable", "BaselineValues", "find_baseline"]

# Verdicts under which a build entered a stage; FAIL is never recorded, but a hand-edited
# ledger line is not trusted to say so.
PROMOTED_VERDICTS = {"PASS", "WARN"}


class BaselineUnavailable(Exception):
    """No usable baseline: none promoted yet (`missing`), or its record or the ledger is bad."""

    def __init__(self, reason: str, *, missing: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.missing = missing


@dataclass(frozen=True)
class Baseline:
    """A promoted build's record: its identity, exact metric values and fingerprint."""

    build_id: str
    run_id: str
    record_path: Path
    metrics: dict[str, str]
    fingerprint: Fingerprint = field(default_factory=dict)

    def value(self, metric_key: str) -> Fraction:
        """Return the build's exact value of the metric, or raise BaselineUnavailable."""
        raw = self.metrics.get(metric_key)
        if raw is None:
            raise BaselineUnavailable(
                f"baseline build {self.build_id} has no value of {metric_key}"
            )
        try:
            return Fraction(raw)
        except (ValueError, ZeroDivisionError):
            reason = f"baseline build {self.build_id} has an invalid value of {metric_key}: {raw!r}"
            raise BaselineUnavailable(reason) from None

    def differences(self, current: Fingerprint, suite: str) -> list[str]:
        return fingerprint_differences(current, self.fingerprint, suite, self.build_id)


@dataclass(frozen=True)
class BaselineValues:
    """The build a baseline gate was held against, with its value and the limit derived from it."""

    build_id: str
    run_id: str
    value: Fraction | None = None
    limit: Fraction | None = None


def find_baseline(run_path: Path, environment: str, stage: str) -> Baseline:
    """Return the newest build promoted to `stage` on `environment`, other than this run.

    Raises BaselineUnavailable when there is none, when the ledger's chain does not verify, or
    when the newest record is missing, changed or lacks metric values. An older record is never
    used in place of a bad newer one, because the comparison would then skip a promotion.
    """
    ledger = ledger_path(run_path)
    none_yet = f"no build promoted to stage {stage} on environment {environment} yet"
    if not ledger.is_file():
        raise BaselineUnavailable(none_yet, missing=True)
    try:
        entries, problems = read_chain(ledger)
    except OSError as error:
        raise BaselineUnavailable(f"ledger {ledger} is unreadable: {error.strerror}") from None
    if problems:
        raise BaselineUnavailable(f"ledger {ledger} does not verify: {problems[0]}")

    for entry in reversed(entries):
        if entry.get("run_id") == run_path.name or entry.get("verdict") not in PROMOTED_VERDICTS:
            continue
        if entry.get("environment") == environment and entry.get("stage") == stage:
            return read_baseline(ledger, entry)
    raise BaselineUnavailable(none_yet, missing=True)


def read_baseline(ledger: Path, entry: dict[str, object]) -> Baseline:
    """Load the record a ledger entry points at, after checking it against the entry's sha256."""
    build = str(entry.get("build_id", ""))
    path = ledger.parent / str(entry.get("record_path", ""))
    if not path.is_file():
        raise BaselineUnavailable(f"promotion record {path} of baseline build {build} is missing")
    if file_sha256(path) != entry.get("record_sha256"):
        reason = f"promotion record {path} of baseline build {build} changed after its promotion"
        raise BaselineUnavailable(reason)
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        reason = f"promotion record {path} of baseline build {build} is unreadable: {error}"
        raise BaselineUnavailable(reason) from None
    metrics = record.get("metrics") if isinstance(record, dict) else None
    fingerprint = record.get("fingerprint") if isinstance(record, dict) else None
    if not isinstance(metrics, dict):
        reason = f"promotion record {path} of baseline build {build} holds no metric values"
        raise BaselineUnavailable(reason + "; it was written before baseline gates existed")
    if not isinstance(fingerprint, dict):
        reason = f"promotion record {path} of baseline build {build} holds no fingerprint"
        raise BaselineUnavailable(reason + "; its run wrote no fingerprint.json")
    return Baseline(build, str(entry.get("run_id", "")), path, metrics, fingerprint)
