"""The verdict of a run: PASS, WARN or FAIL, with the gate table people and CI read."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from harness.evaluation import GateResult, Outcome, format_fraction
from harness.runs import write_json_atomically

__all__ = ["ExitCode", "Verdict", "VerdictReport", "decide", "limit_text", "result_as_json"]


class ExitCode(enum.IntEnum):
    """Process exit codes the CLI and nox sessions return; documented in the README."""

    PASSED = 0  # PASS or WARN
    FAILED = 1  # a blocking gate did not pass
    USAGE = 2  # bad flag, configuration, secret or target
    INTERRUPTED = 130  # SIGINT or SIGTERM stopped the run


class Verdict(enum.StrEnum):
    """Overall outcome of a run's gates."""

    PASS = "PASS"  # noqa: S105 - a verdict, not a password
    WARN = "WARN"
    FAIL = "FAIL"

    @property
    def exit_code(self) -> ExitCode:
        return ExitCode.FAILED if self is Verdict.FAIL else ExitCode.PASSED


@dataclass(frozen=True)
class VerdictReport:
    """A verdict, the gate results behind it and why it was reached."""

    verdict: Verdict
    results: list[GateResult]
    reason: str

    def table(self) -> str:
        return render_table(self.results)

    def write(self, run_path: Path, stage: str) -> None:
        write_json_atomically(run_path / "verdict.json", self.as_json(stage))
        (run_path / "verdict.md").write_text(self.markdown(stage), encoding="utf-8")

    def as_json(self, stage: str) -> dict[str, object]:
        return {
            "verdict": self.verdict.value,
            "stage": stage,
            "reason": self.reason,
            "gates": [result_as_json(result) for result in self.results],
        }

    def markdown(self, stage: str) -> str:
        lines = [f"## Verdict: {self.verdict} (stage {stage})", "", self.reason, ""]
        lines += ["| gate | metric | actual | threshold | outcome | reason |"]
        lines += ["| --- | --- | --- | --- | --- | --- |"]
        for row in table_rows(self.results):
            lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |")
        return "\n".join(lines) + "\n"


def result_as_json(result: GateResult) -> dict[str, object]:
    gate = result.gate
    return {
        "name": gate.name,
        "metric": gate.metric,
        "labels": gate.labels,
        "comparison": None if gate.comparison is None else gate.comparison.value,
        "threshold": None if gate.threshold is None else str(gate.threshold),
        "blocking": gate.blocking,
        "outcome": result.outcome.value,
        "actual": exact_text(result.actual),
        "actual_display": display_text(result.actual),
        "reason": result.reason,
        "waiver": None if result.waiver is None else result.waiver.model_dump(mode="json"),
        "baseline": baseline_as_json(result),
        "tolerated": result.tolerated,
    }


def exact_text(value: Fraction | None) -> str | None:
    return None if value is None else str(value)


def display_text(value: Fraction | None) -> str | None:
    return None if value is None else format_fraction(value)


def baseline_as_json(result: GateResult) -> dict[str, object] | None:
    """Describe a baseline gate's rule, and the build, value and limit it was held against."""
    spec = result.gate.baseline
    if spec is None:
        return None
    used = result.baseline
    value = None if used is None else used.value
    limit = None if used is None else used.limit
    return {
        "max_increase_percent": exact_text(spec.percent()) if spec.increase else None,
        "max_decrease_percent": None if spec.increase else exact_text(spec.percent()),
        "on_missing": spec.on_missing,
        "build_id": None if used is None else used.build_id,
        "run_id": None if used is None else used.run_id,
        "value": exact_text(value),
        "value_display": display_text(value),
        "limit": exact_text(limit),
        "limit_display": display_text(limit),
    }


def limit_text(result: GateResult) -> str:
    """Render the threshold column: "< 500", or a baseline gate's limit and where it came from."""
    gate, used = result.gate, result.baseline
    if gate.baseline is None or used is None or used.limit is None:
        return gate.describe_limit()
    relation = "<=" if gate.baseline.increase else ">="
    rule = f"{gate.baseline.describe()}, build {used.build_id}"
    return f"{relation} {format_fraction(used.limit)} ({rule})"


def decide(results: list[GateResult], scope: str) -> VerdictReport:
    """Reduce gate results to one verdict; no gates at all is a FAIL, never a silent pass."""
    if not results:
        return VerdictReport(Verdict.FAIL, results, f"no gates apply to {scope}")
    blocking = [r for r in results if r.blocks]
    if blocking:
        names = ", ".join(r.gate.name for r in blocking)
        return VerdictReport(Verdict.FAIL, results, f"blocking gates not passed: {names}")
    waived = [r for r in results if r.outcome is not Outcome.PASS and r.waiver is not None]
    warnings = [r for r in results if r.outcome is not Outcome.PASS and r.waiver is None]
    parts = []
    if warnings:
        parts.append(f"non-blocking gates not passed: {', '.join(r.gate.name for r in warnings)}")
    if waived:
        names = ", ".join(f"{r.gate.name} (by {r.waiver.approver})" for r in waived if r.waiver)
        parts.append(f"waived gates: {names}")
    if parts:
        return VerdictReport(Verdict.WARN, results, "; ".join(parts))
    return VerdictReport(Verdict.PASS, results, f"all {len(results)} gates passed")


HEADERS = ("gate", "actual", "threshold", "outcome", "reason")


def table_rows(results: list[GateResult]) -> list[tuple[str, ...]]:
    rows: list[tuple[str, ...]] = []
    for result in results:
        gate = result.gate
        actual = "-" if result.actual is None else format_fraction(result.actual)
        threshold = limit_text(result)
        rows.append(
            (gate.name, gate.metric_key, actual, threshold, result.outcome.value, result.reason)
        )
    return rows


def render_table(results: list[GateResult]) -> str:
    rows = [
        (name, actual, threshold, outcome, reason)
        for name, _metric, actual, threshold, outcome, reason in table_rows(results)
    ]
    widths = [max(len(row[i]) for row in [HEADERS, *rows]) for i in range(len(HEADERS))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        for row in [HEADERS, *rows]
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(line.rstrip() for line in lines)
