"""gates.toml: per promotion stage, the metrics a build must meet and how strictly."""

from __future__ import annotations

import enum
import operator
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from typing import Annotated

import pydantic

from harness.config.loader import StrictModel, load_toml_model
from harness.errors import Problem, UsageError
from harness.metrics import metric_key

__all__ = ["Comparison", "GateSpec", "GatesFile", "Stage", "load_gates"]

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


class GateSpec(StrictModel):
    """One gate: a metric, a comparison and a threshold; blocking gates decide FAIL."""

    name: Annotated[str, pydantic.StringConstraints(min_length=1)]
    metric: MetricName
    comparison: Comparison
    # A decimal string such as "0.001" is kept exact; a TOML float is converted through its repr.
    threshold: int | float | str
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
    def check_threshold(cls, value: int | float | str) -> int | float | str:
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


class Stage(StrictModel):
    """A promotion stage and the gates a build must pass to enter it."""

    description: str = ""
    gates: list[GateSpec]

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
    return load_toml_model(path, GatesFile)
