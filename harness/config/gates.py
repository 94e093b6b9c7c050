"""gates.toml: per promotion stage, the metrics a build must meet and how strictly."""

from __future__ import annotations

import enum
import operator
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from typing import Annotated, Literal

import pydantic

from harness.config.loader import StrictModel, load_toml_model
from harness.errors import Problem, UsageError
from harness.metrics import metric_key
from harness.shards import MAX_SHARDS, SHARDABLE_SUITES

__all__ = ["BaselineSpec", "Comparison", "GateSpec", "GatesFile", "Stage", "load_gates"]

MetricName = Annotated[str, pydantic.StringConstraints(pattern=r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$")]


class Comparison(enum.StrEnum):
    """How a measured value is held against its threshold."""

    EQ = "=="
    NE = "!="
    LT = "<"
    LE = "<="
    GT = ">"
    GE = ">="

    def holds(self, actual: Fraction, threshold: Fraction) -> bool:
        return COMPARATORS[self](actual, threshold)


COMPARATORS: dict[Comparison, Callable[[Fraction, Fraction], bool]] = {
    Comparison.EQ: operator.eq,
    Comparison.NE: operator.ne,
    Comparison.LT: operator.lt,
    Comparison.LE: operator.le,
    Comparison.GT: operator.gt,
    Comparison.GE: operator.ge,
}


class BaselineSpec(StrictModel):
    """A limit relative to the same metric of the last build promoted to the stage.

    Exactly one of the two percentages is set; load_gates checks that. A percent is exact: write
    "2.5" as a string, or an integer.
    """

    max_increase_percent: int | float | str | None = None
    max_decrease_percent: int | float | str | None = None
    # What a missing baseline (no build promoted to the stage on the environment yet) does to the
    # gate: "fail" counts it as INCOMPARABLE like any other refused baseline, "warn" lets the first
    # promotion through with a WARN verdict.
    on_missing: Literal["fail", "warn"] = "fail"

    @property
    def increase(self) -> bool:
        """Whether the limit caps a rise (max_increase_percent) rather than a drop."""
        return self.max_increase_percent is not None

    def percent(self) -> Fraction:
        raw = self.max_increase_percent if self.increase else self.max_decrease_percent
        return Fraction(str(raw))

    def limit(self, baseline: Fraction) -> Fraction:
        """Return the most (or least) the metric may measure, given the baseline build's value."""
        change = baseline * self.percent() / 100
        return baseline + change if self.increase else baseline - change

    def holds(self, actual: Fraction, limit: Fraction) -> bool:
        return actual <= limit if self.increase else actual >= limit

    def describe(self) -> str:
        """Render the rule, as in "baseline +10% at most" or "baseline -0% at most"."""
        sign = "+" if self.increase else "-"
        raw = self.max_increase_percent if self.increase else self.max_decrease_percent
        return f"baseline {sign}{raw}% at most"


class GateSpec(StrictModel):
    """One gate: a metric, a comparison and a threshold; blocking gates decide FAIL.

    A baseline gate has no comparison and threshold: its limit comes from the metric's value in
    the last promoted build (see BaselineSpec).
    """

    name: Annotated[str, pydantic.StringConstraints(min_length=1)]
    metric: MetricName
    comparison: Comparison | None = None
    # A decimal string such as "0.001" is kept exact; a TOML float is converted through its repr.
    threshold: int | float | str | None = None
    baseline: BaselineSpec | None = None
    blocking: bool = True
    description: str = ""
    # Picks one of several metrics with the same name, such as one endpoint's latency:
    # labels = { name = "POST /api/rooms/{room_id}/messages" }.
    labels: dict[str, str] = pydantic.Field(default_factory=dict)
    # A suite that measures while it runs (load) stops early, as failed, once this gate has been
    # breached for this many seconds in a row.
    abort_after_s: Annotated[float, pydantic.Field(gt=0, le=3600)] | None = None

    @pydantic.field_validator("threshold")
    @classmethod
    def check_threshold(cls, value: int | float | str | None) -> int | float | str | None:
        if value is not None:
            Fraction(str(value))
        return value

    @property
    def suite(self) -> str:
        return self.metric.split(".", 1)[0]

    @property
    def metric_key(self) -> str:
        """The selected metric: its name, with the label selector when there is one."""
        return metric_key(self.metric, self.labels)

    def threshold_value(self) -> Fraction:
        return Fraction(str(self.threshold))

    def describe_limit(self) -> str:
        """Render what the metric is held against: "< 500", or "baseline +10% at most"."""
        if self.baseline is not None:
            return self.baseline.describe()
        return f"{self.comparison} {self.threshold}"


class Stage(StrictModel):
    """A promotion stage and the gates a build must pass to enter it."""

    description: str = ""
    gates: list[GateSpec]
    # The shard count the stage requires per suite, such as { unit = 4 }: that suite's gates take
    # evidence only from a run that `harness merge` combined from that many shards.
    shards: dict[str, Annotated[int, pydantic.Field(ge=1, le=MAX_SHARDS)]] = pydantic.Field(
        default_factory=dict
    )

    @pydantic.field_validator("shards")
    @classmethod
    def check_shardable(cls, shards: dict[str, int]) -> dict[str, int]:
        for suite in shards:
            if suite not in SHARDABLE_SUITES:
                choices = ", ".join(sorted(SHARDABLE_SUITES))
                raise ValueError(f"suite {suite!r} cannot be sharded; use one of: {choices}")
        return shards

    @property
    def suites(self) -> tuple[str, ...]:
        """The suites whose evidence the stage requires: every suite a gate's metric comes from."""
        return tuple(sorted({gate.suite for gate in self.gates}))


class GatesFile(StrictModel):
    """The whole gates.toml."""

    stages: dict[str, Stage]

    def stage(self, name: str, path: Path) -> Stage:
        if name not in self.stages:
            choices = ", ".join(sorted(self.stages))
            raise UsageError(
                Problem.UNKNOWN_STAGE, {"name": name, "path": path, "choices": choices}
            )
        return self.stages[name]


def load_gates(path: Path) -> GatesFile:
    gates = load_toml_model(path, GatesFile)
    for stage_name, stage in gates.stages.items():
        for index, gate in enumerate(stage.gates):
            key, reason = gate_kind_problem(gate)
            if reason:
                values = {
                    "path": path,
                    "key": f"stages.{stage_name}.gates.{index}.{key}",
                    "reason": f"gate {gate.name!r}: {reason}",
                }
                raise UsageError(Problem.INVALID_VALUE, values)
    return gates


def gate_kind_problem(gate: GateSpec) -> tuple[str, str]:
    """Return the key and reason that make the gate neither a threshold nor a baseline gate.

    The schema alone cannot express this, because the keys that are valid depend on each other.
    Returns ("", "") for a consistent gate.
    """
    if gate.baseline is None:
        if gate.comparison is None:
            return "comparison", "required key is missing (or give the gate a baseline)"
        if gate.threshold is None:
            return "threshold", "required key is missing (or give the gate a baseline)"
        return "", ""
    for key in ("comparison", "threshold", "abort_after_s"):
        if getattr(gate, key) is not None:
            return key, f"a baseline gate takes no {key}; remove {key} or the baseline"
    return baseline_problem(gate.baseline)


def baseline_problem(baseline: BaselineSpec) -> tuple[str, str]:
    increase, decrease = baseline.max_increase_percent, baseline.max_decrease_percent
    if (increase is None) == (decrease is None):
        reason = "set exactly one of max_increase_percent and max_decrease_percent"
        return "baseline", reason
    field = "max_increase_percent" if increase is not None else "max_decrease_percent"
    key = f"baseline.{field}"
    raw = increase if increase is not None else decrease
    try:
        percent = Fraction(str(raw))
    except (ValueError, ZeroDivisionError):
        return key, f"{raw!r} is not a number; write a decimal such as 10 or '2.5'"
    if percent < 0:
        return key, f"{raw} is negative; give the allowed change as 0 or more"
    if decrease is not None and percent > 100:
        return key, f"{raw} is over 100; a metric cannot drop by more than all of it"
    return "", ""
