"""Gate evaluation: hold each metric against its threshold, failing closed on doubtful evidence.

A gate passes only when its metric was measured in this run, for this build and environment, from
an evidence file that still has the hash recorded at measurement time. Every other case yields
NO_EVIDENCE with a reason that names what is missing or wrong.

A baseline gate holds the metric against a limit derived from the last build promoted to the
stage on the environment. When there is no such build, its record cannot be trusted, or the two
runs' fingerprints differ, the gate is INCOMPARABLE with a reason that names the difference.
"""

from __future__ import annotations

import datetime
import enum
import functools
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path

from harness.baseline import Baseline, BaselineUnavailable, BaselineValues, find_baseline
from harness.config.gates import BaselineSpec, GateSpec, Stage
from harness.config.waivers import Waiver
from harness.fingerprint import Fingerprint, FingerprintError, read_fingerprint
from harness.metrics import Metric, MetricStore, file_sha256
from harness.runs import RunFolder, RunStatus

__all__ = ["GateResult", "Outcome", "apply_waivers", "evaluate_stage", "format_fraction"]


class Outcome(enum.StrEnum):
    """Result of one gate."""

    PASS = "PASS"  # noqa: S105 - a gate outcome, not a password
    FAIL = "FAIL"
    WARN = "WARN"
    NO_EVIDENCE = "NO_EVIDENCE"
    INCOMPARABLE = "INCOMPARABLE"


@dataclass(frozen=True)
class GateResult:
    """A gate with the value it was held against and why it ended as it did."""

    gate: GateSpec
    outcome: Outcome
    actual: Fraction | None
    reason: str
    waiver: Waiver | None = None
    # The baseline build and, once the runs compared, its value and the limit derived from it.
    baseline: BaselineValues | None = None
    # Set when the gate's own configuration accepts this outcome as a warning: a baseline gate
    # with on_missing = "warn" before any build was promoted to its stage.
    tolerated: bool = False

    @property
    def blocks(self) -> bool:
        """Whether the result stops promotion: a blocking gate that did not pass.

        A waived or tolerated result does not block.
        """
        if not self.gate.blocking or self.outcome is Outcome.PASS:
            return False
        return self.waiver is None and not self.tolerated


def apply_waivers(
    results: list[GateResult],
    waivers: list[Waiver],
    build: str,
    stage: str,
    today: datetime.date,
) -> list[GateResult]:
    """Attach to each gate that did not pass the first waiver valid for it, build and stage today.

    An expired waiver is not applied; its expiry is added to the gate's reason instead.
    """
    waived = []
    for result in results:
        if result.outcome is Outcome.PASS:
            waived.append(result)
            continue
        name = result.gate.name
        valid = [w for w in waivers if w.applies_to(name, build, stage, today)]
        expired = [w for w in waivers if w.applies_to(name, build, stage, w.expires)]
        if valid:
            note = f"; waived by {valid[0].approver} until {valid[0].expires}: {valid[0].reason}"
            waived.append(replace(result, waiver=valid[0], reason=result.reason + note))
        elif expired:
            note = f"; waiver by {expired[0].approver} expired on {expired[0].expires}"
            waived.append(replace(result, reason=result.reason + note))
        else:
            waived.append(result)
    return waived


def format_fraction(value: Fraction, places: int = 4) -> str:
    """Format without ever rounding up, so 899999/10000 prints as 89.9999 and never as 90.

    Truncation toward zero keeps the printed figure on the same side of any threshold with at
    most `places` decimals as the exact value.
    """
    if value.denominator == 1:
        return str(value.numerator)
    scale = 10**places
    truncated = Fraction(int(value * scale), scale)
    text = f"{float(truncated):.{places}f}".rstrip("0").rstrip(".")
    return f"{text}…" if truncated != value else text


class BaselineLookup:
    """The stage's baseline and this run's fingerprint, read once and only if a gate needs them."""

    def __init__(self, run: RunFolder, stage: str) -> None:
        self.run = run
        self.stage = stage

    @functools.cached_property
    def found(self) -> Baseline | BaselineUnavailable:
        manifest = self.run.manifest
        try:
            return find_baseline(self.run.path, manifest.environment, self.stage)
        except BaselineUnavailable as unavailable:
            return unavailable

    @functools.cached_property
    def fingerprint(self) -> Fingerprint | FingerprintError:
        try:
            fingerprint = read_fingerprint(self.run.path)
        except FingerprintError as error:
            return error
        environment = self.run.manifest.environment
        if fingerprint.get("environment") != environment:
            recorded = fingerprint.get("environment")
            reason = f"fingerprint.json is from environment {recorded}, not {environment}"
            return FingerprintError(reason)
        return fingerprint


def evaluate_stage(
    stage: Stage,
    run: RunFolder,
    suites: set[str] | None = None,
    *,
    stage_name: str | None = None,
) -> list[GateResult]:
    """Evaluate the stage's gates whose metric belongs to `suites` (all gates when None).

    `stage_name` picks the baseline of baseline gates; it defaults to the stage the run was for.
    """
    metrics, unreadable = MetricStore(run).read_all()
    gates = [gate for gate in stage.gates if suites is None or gate.suite in suites]
    lookup = BaselineLookup(run, stage_name or run.manifest.stage)
    results = []
    for gate in gates:
        problem = shard_problem(run, gate.suite, stage.shards.get(gate.suite))
        if problem:
            results.append(GateResult(gate, Outcome.NO_EVIDENCE, None, problem))
        else:
            results.append(evaluate_gate(gate, run, metrics, unreadable, lookup))
    return results


def shard_problem(run: RunFolder, suite: str, required: int | None) -> str:
    """Return why the run lacks the shard count the stage requires of `suite`, or ""."""
    if required is None:
        return ""
    manifest = run.manifest
    labels = [entry.get("shard", "") for entry in manifest.merged_from]
    counts = {label.split("/")[-1] for label in labels if "/" in label}
    if counts == {str(required)}:
        return ""
    if counts:
        found = f"was merged from {', '.join(sorted(counts))} shards"
    elif manifest.shard_count:
        found = f"is shard {manifest.shard_label}, not a merged run"
    else:
        found = "was not sharded"
    return (
        f"the stage requires suite {suite} merged from {required} shards, "
        f"but run {manifest.run_id} {found}"
    )


def evaluate_gate(
    gate: GateSpec,
    run: RunFolder,
    metrics: dict[str, Metric],
    unreadable: dict[str, str],
    lookup: BaselineLookup,
) -> GateResult:
    problem = evidence_problem(gate, run, metrics, unreadable)
    if problem:
        return GateResult(gate, Outcome.NO_EVIDENCE, None, problem)

    actual = metrics[gate.metric_key].fraction()
    if gate.baseline is not None:
        return evaluate_against_baseline(gate, gate.baseline, actual, lookup)
    if gate.comparison is None or gate.threshold is None:
        reason = f"gate {gate.name} has neither a threshold nor a baseline; fix gates.toml"
        return GateResult(gate, Outcome.NO_EVIDENCE, actual, reason)
    threshold = gate.threshold_value()
    shown = f"{format_fraction(actual)} {gate.comparison} {gate.threshold}"
    if gate.comparison.holds(actual, threshold):
        return GateResult(gate, Outcome.PASS, actual, f"{shown} holds")
    outcome = Outcome.FAIL if gate.blocking else Outcome.WARN
    return GateResult(gate, outcome, actual, f"{shown} does not hold")


def evaluate_against_baseline(
    gate: GateSpec, spec: BaselineSpec, actual: Fraction, lookup: BaselineLookup
) -> GateResult:
    """Hold the metric against the limit the baseline build's value and the allowed change set."""
    current = lookup.fingerprint
    if isinstance(current, FingerprintError):
        return GateResult(gate, Outcome.NO_EVIDENCE, actual, str(current))
    baseline = lookup.found
    if isinstance(baseline, BaselineUnavailable):
        return unavailable_result(gate, spec, actual, baseline)

    values = BaselineValues(baseline.build_id, baseline.run_id)
    differences = baseline.differences(current, gate.suite)
    if differences:
        reason = "; ".join(differences)
        return GateResult(gate, Outcome.INCOMPARABLE, actual, reason, baseline=values)
    try:
        value = baseline.value(gate.metric_key)
    except BaselineUnavailable as unavailable:
        return GateResult(gate, Outcome.INCOMPARABLE, actual, unavailable.reason, baseline=values)

    limit = spec.limit(value)
    values = replace(values, value=value, limit=limit)
    relation = "<=" if spec.increase else ">="
    comparison = (
        f"{format_fraction(actual)} {relation} {format_fraction(limit)} "
        f"(baseline build {baseline.build_id}: {format_fraction(value)}, {spec.describe()})"
    )
    if spec.holds(actual, limit):
        return GateResult(gate, Outcome.PASS, actual, f"{comparison} holds", baseline=values)
    outcome = Outcome.FAIL if gate.blocking else Outcome.WARN
    return GateResult(gate, outcome, actual, f"{comparison} does not hold", baseline=values)


def unavailable_result(
    gate: GateSpec, spec: BaselineSpec, actual: Fraction, unavailable: BaselineUnavailable
) -> GateResult:
    """Mark the gate INCOMPARABLE, tolerated when no baseline exists yet and the gate allows it."""
    if unavailable.missing and spec.on_missing == "warn":
        reason = f'{unavailable.reason}; on_missing = "warn" lets this build through'
        return GateResult(gate, Outcome.INCOMPARABLE, actual, reason, tolerated=True)
    return GateResult(gate, Outcome.INCOMPARABLE, actual, unavailable.reason)


def evidence_problem(
    gate: GateSpec, run: RunFolder, metrics: dict[str, Metric], unreadable: dict[str, str]
) -> str:
    """Return why the gate's evidence cannot be trusted, or "" when it can."""
    manifest = run.manifest
    if manifest.status is not RunStatus.COMPLETED:
        return f"run {manifest.run_id} is {manifest.status}, not completed"
    if gate.suite in unreadable:
        return unreadable[gate.suite]
    suite = manifest.suites.get(gate.suite)
    if suite is None:
        return f"suite {gate.suite} did not run in {manifest.run_id}"
    metric = metrics.get(gate.metric_key)
    if metric is None:
        detail = f" ({suite.reason})" if suite.reason else ""
        return f"metric {gate.metric_key} missing: suite {gate.suite} ended {suite.outcome}{detail}"
    return provenance_problem(metric, run) or evidence_file_problem(metric, run.path)


def provenance_problem(metric: Metric, run: RunFolder) -> str:
    manifest = run.manifest
    if not metric.known:
        return f"metric {metric.name} unknown: {metric.unknown_reason}"
    if metric.run_id != manifest.run_id:
        return f"metric {metric.name} is from run {metric.run_id}, not {manifest.run_id}"
    if metric.build_id != manifest.build_id:
        return f"metric {metric.name} is from build {metric.build_id}, not {manifest.build_id}"
    if metric.environment != manifest.environment:
        return (
            f"metric {metric.name} is from environment {metric.environment}, "
            f"not {manifest.environment}"
        )
    return ""


def evidence_file_problem(metric: Metric, run_path: Path) -> str:
    path = run_path / metric.evidence
    if not path.is_file():
        return f"evidence {metric.evidence} of {metric.name} is missing"
    if file_sha256(path) != metric.evidence_sha256:
        return f"evidence {metric.evidence} changed after {metric.name} was measured"
    return ""
