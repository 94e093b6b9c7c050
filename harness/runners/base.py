"""The runner protocol, and the one place where exit code and evidence become an outcome."""

from __future__ import annotations

import enum
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Protocol, runtime_checkable

from harness.config.environment import Environment
from harness.evidence.junit import EvidenceError, JUnitCounts
from harness.metrics import Metric, file_sha256
from harness.runs import RunFolder
from harness.target import Deployment

__all__ = [
    "EnvironmentCheck",
    "RunContext",
    "Runner",
    "SuiteOptions",
    "SuiteOutcome",
    "SuiteResult",
    "classify_pytest",
    "metric_from",
]

log = logging.getLogger(__name__)


class SuiteOutcome(enum.StrEnum):
    """The state a suite ended in, before any gate looks at its metrics."""

    PASSED = "passed"
    FAILED = "failed"
    ERROR = "error"
    NO_EVIDENCE = "no evidence"
    INTERRUPTED = "interrupted"


@dataclass(frozen=True)
class SuiteOptions:
    """Suite selection from the command line."""

    channels: tuple[str, ...] = ("api",)
    select: str = ""
    timeout_s: float = 1800.0
    allow_writes: bool = False
    # Load suite: the profile in suites/load/ ("" picks the one the stage's gates name), the
    # local Locust workers (0 means one per core), workers expected from other machines, the
    # master's bind address and port (0 picks a free one), and the consent to put load on a
    # sensitive environment.
    profile: str = ""
    workers: int = 0
    remote_workers: int = 0
    master_host: str = "127.0.0.1"
    master_port: int = 0
    allow_sensitive_load: bool = False


@dataclass(frozen=True)
class RunContext:
    """Everything a runner needs: the project, the run folder, the environment and the target."""

    root: Path
    run: RunFolder
    environment: Environment
    environment_path: Path
    deployment: Deployment
    options: SuiteOptions = field(default_factory=SuiteOptions)


@dataclass(frozen=True)
class SuiteResult:
    """A suite's outcome, the reason for it, and the metrics its evidence yielded."""

    outcome: SuiteOutcome
    reason: str
    exit_code: int | None = None
    metrics: list[Metric] = field(default_factory=list)


class Runner(Protocol):
    """One suite kind. `preflight` rejects bad input before the target starts; `run` runs it."""

    name: str

    def preflight(self, root: Path, options: SuiteOptions) -> None: ...

    def run(self, context: RunContext) -> SuiteResult: ...


@runtime_checkable
class EnvironmentCheck(Protocol):
    """A runner that must also check the environment and stage before anything starts.

    `default_stage` names the stage whose gates fit the options when the user named none, or
    returns None to keep the environment's stage.
    """

    def check_environment(
        self, root: Path, environment: Environment, stage: str, options: SuiteOptions
    ) -> None: ...

    def default_stage(self, root: Path, options: SuiteOptions) -> str | None: ...


def classify_pytest(
    exit_code: int, counts: JUnitCounts | EvidenceError
) -> tuple[SuiteOutcome, str]:
    """Decide a pytest-based suite's outcome from its exit code and its JUnit counts together.

    The two must agree: a failure in the report with exit code 0, or exit code 1 with no failure
    in the report, means the evidence cannot be trusted and the suite is an ERROR.
    """
    if isinstance(counts, EvidenceError):
        if exit_code == 5:
            return SuiteOutcome.NO_EVIDENCE, "no tests were collected (pytest exit code 5)"
        return SuiteOutcome.NO_EVIDENCE, f"{counts} (pytest exit code {exit_code})"
    broken = counts.failed + counts.errors
    if exit_code == 5 or counts.total == 0:
        return SuiteOutcome.NO_EVIDENCE, "no tests were collected"
    if counts.executed == 0:
        return SuiteOutcome.NO_EVIDENCE, f"all {counts.total} tests were skipped"
    if exit_code == 0 and broken == 0:
        return SuiteOutcome.PASSED, f"{counts.passed} of {counts.total} passed"
    if exit_code == 1 and broken > 0:
        return SuiteOutcome.FAILED, f"{broken} of {counts.total} failed"
    if exit_code in (0, 1):
        return (
            SuiteOutcome.ERROR,
            f"exit code {exit_code} contradicts {broken} failures in the report",
        )
    if exit_code == 2:
        return SuiteOutcome.ERROR, "pytest was interrupted or hit collection errors (exit code 2)"
    return SuiteOutcome.ERROR, f"pytest ended with exit code {exit_code}"


def metric_from(
    context: RunContext,
    suite: str,
    evidence: Path,
    values: Mapping[str, int | Fraction],
    unknown_reason: str = "",
    labels: dict[str, str] | None = None,
) -> list[Metric]:
    """Build metrics with full provenance; with `unknown_reason` every value is recorded unknown.

    `labels` tells apart metrics of the same name, such as one per endpoint.
    """
    run = context.run.manifest
    digest = file_sha256(evidence) if evidence.is_file() else ""
    relative = evidence.relative_to(context.run.path).as_posix()
    metrics = []
    for name, value in values.items():
        known = not unknown_reason
        metrics.append(
            Metric(
                name=name,
                suite=suite,
                run_id=run.run_id,
                build_id=run.build_id,
                environment=run.environment,
                evidence=relative,
                evidence_sha256=digest,
                exact=str(value) if known else None,
                value=float(value) if known else None,
                unknown_reason=unknown_reason,
                labels=dict(labels or {}),
            )
        )
    return metrics
