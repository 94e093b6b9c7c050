"""The verdict of a run: PASS, WARN or FAIL, with the gate table people and CI read."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from pathlib import Path

from harness.evaluation import GateResult, Outcome, format_fraction
from harness.runs import write_json_atomically

__all__ = ["ExitCode", "Verdict", "VerdictReport", "decide"]


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
        "comparison": gate.comparison.value,
        "threshold": str(gate.threshold),
        "blocking": gate.blocking,
        "outcome": result.outcome.value,
        "actual": None if result.actual is None else str(result.actual),
        "actual_display": None if result.actual is None else format_fraction(result.actual),
        "reason": result.reason,
        "waiver": None if result.waiver is None else result.waiver.model_dump(mode="json"),
    }


def decide(results: list[GateResult], scope: str) -> VerdictReport:
    """Reduce gate results to one verdict; no gates at all is a FAIL, never a silent pass."""
    if not results:
        return VerdictReport(Verdict.FAIL, results, f"no gates apply to {scope}")
    blocking = [r for r in results if r.blocks]
    if blocking:
        names = ", ".join(r.gate.name for r in blocking)
        return VerdictReport(Verdict.FAIL, results, f"blocking gates not passed: {names}")
    warnings = [r for r in results if r.outcome is not Outcome.PASS]
    if warnings:
        names = ", ".join(r.gate.name for r in warnings)
        return VerdictReport(Verdict.WARN, results, f"non-blocking gates not passed: {names}")
    return VerdictReport(Verdict.PASS, results, f"all {len(results)} gates passed")


HEADERS = ("gate", "actual", "threshold", "outcome", "reason")


def table_rows(results: list[GateResult]) -> list[tuple[str, ...]]:
    rows: list[tuple[str, ...]] = []
    for result in results:
        gate = result.gate
        actual = "-" if result.actual is None else format_fraction(result.actual)
        threshold = f"{gate.comparison} {gate.threshold}"
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
