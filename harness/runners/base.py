"""The runner protocol, and the one place where exit code and evidence become an outcome."""

from __future__ import annotations

import enum
import importlib.util
import json
import logging
import signal
from collections.abc import Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Protocol, runtime_checkable

from harness.config.environment import Environment
from harness.errors import Problem, UsageError
from harness.evidence.junit import EvidenceError, JUnitCounts
from harness.metrics import Metric, file_sha256
from harness.runs import RunFolder
from harness.shards import Shard
from harness.target import Deployment

# Locust registers a pytest plugin that imports gevent and monkey-patches threads and sockets in
# every pytest process where the load extra is installed. Suites run by the harness and its own
# tests disable it, so their threads stay threads and coverage keeps measuring them.
NO_LOCUST_PLUGIN = ["-p", "no:locust"]

__all__ = [
    "NO_LOCUST_PLUGIN",
    "EnvironmentCheck",
    "RunContext",
    "Runner",
    "SuiteOptions",
    "SuiteOutcome",
    "SuiteResult",
    "classify_pytest",
    "metric_from",
    "write_target_file",
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
class UnitOptions:
    """Unit suite flags; None keeps the environment's [unit] setting."""

    # pytest-xdist workers: "auto" or a count, and 0 runs the tests in one process.
    workers: str | int | None = None
    reruns: int | None = None


@dataclass(frozen=True)
class LoadOptions:
    """Load suite flags."""

    # The profile in suites/load/; "" picks the one the stage's gates name.
    profile: str = ""
    # Local Locust workers; 0 means one per core.
    locust_workers: int = 0
    # Workers expected to join from other machines.
    remote_workers: int = 0
    master_host: str = "127.0.0.1"
    # 0 picks a free port.
    master_port: int = 0
    # Consent to put load on a sensitive environment.
    allow_sensitive_load: bool = False


@dataclass(frozen=True)
class ProductionOptions:
    """Flags of the rollout check (verify-deploy) and the availability probe."""

    expect_build: str = ""
    interval_s: float = 2.0
    duration_s: float = 300.0


@dataclass(frozen=True)
class SuiteOptions:
    """Suite selection from the command line, with each suite's own flags in a group."""

    channels: tuple[str, ...] = ("api",)
    select: str = ""
    timeout_s: float = 1800.0
    allow_writes: bool = False
    tags: str = ""
    node_ids: tuple[str, ...] = ()
    # Device profiles and sets for the device suite and the mobile channel; empty means default.
    devices: tuple[str, ...] = ()
    environment: str = "local"
    # The part of the suite's tests this run executes (--shard); None runs them all.
    shard: Shard | None = None
    unit: UnitOptions = field(default_factory=UnitOptions)
    load: LoadOptions = field(default_factory=LoadOptions)
    production: ProductionOptions = field(default_factory=ProductionOptions)

    def shard_arguments(self) -> list[str]:
        """Return the pytest arguments that load the shard plugin, or none for a whole run."""
        if self.shard is None:
            return []
        return ["-p", "harness.pytest_shard", f"--harness-shard={self.shard}"]


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
    """One suite kind. `preflight` rejects bad input before the target starts; `run` runs it.

    A runner with `needs_target` false tests code rather than a deployment, so the orchestrator
    starts no service and reaches no URL for it.
    """

    name: str
    needs_target: bool

    def preflight(
        self, root: Path, options: SuiteOptions, environment: Environment, environment_path: Path
    ) -> None: ...

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
    exit_code: int | None,
    counts: JUnitCounts | EvidenceError,
    collected: int | None = None,
    incomplete: str = "",
) -> tuple[SuiteOutcome, str]:
    """Decide a pytest-based suite's outcome from its exit code and its JUnit counts together.

    The two must agree: a failure in the report with exit code 0, or exit code 1 with no failure
    in the report, means the evidence cannot be trusted and the suite is an ERROR. `exit_code` is
    None for a report ingested from elsewhere, which has no exit code to agree with. When
    `collected` is given, the report must hold one verdict per collected test. `incomplete` names
    other evidence of the run, such as coverage data, that is missing or broken; a run whose tests
    all passed is then an ERROR.
    """
    if isinstance(counts, EvidenceError):
        if exit_code == 5:
            return SuiteOutcome.NO_EVIDENCE, "no tests were collected (pytest exit code 5)"
        suffix = "" if exit_code is None else f" (pytest exit code {exit_code})"
        return SuiteOutcome.NO_EVIDENCE, f"{counts}{suffix}"
    if exit_code == 5 or counts.total == 0:
        return SuiteOutcome.NO_EVIDENCE, "no tests were collected"
    if counts.executed == 0:
        return SuiteOutcome.NO_EVIDENCE, f"all {counts.total} tests were skipped"
    if collected is not None and collected != counts.total:
        reason = f"{collected} tests were collected but the report holds {counts.total} verdicts"
        return SuiteOutcome.ERROR, reason
    broken = counts.failed + counts.errors
    if exit_code is None:
        exit_code = 1 if broken else 0
    return classify_verdicts(exit_code, counts, broken, incomplete)


def classify_verdicts(
    exit_code: int, counts: JUnitCounts, broken: int, incomplete: str
) -> tuple[SuiteOutcome, str]:
    also = f"; {incomplete}" if incomplete else ""
    if exit_code == 0 and broken == 0 and incomplete:
        return SuiteOutcome.ERROR, f"{counts.passed} of {counts.total} passed, but {incomplete}"
    if exit_code == 0 and broken == 0:
        return SuiteOutcome.PASSED, f"{counts.passed} of {counts.total} passed"
    if exit_code == 1 and broken > 0:
        return SuiteOutcome.FAILED, f"{broken} of {counts.total} failed{also}"
    if exit_code in (0, 1):
        return (
            SuiteOutcome.ERROR,
            f"exit code {exit_code} contradicts {broken} failures in the report",
        )
    if exit_code == 2:
        return SuiteOutcome.ERROR, "pytest was interrupted or hit collection errors (exit code 2)"
    if exit_code < 0:
        # subprocess reports a child killed by a signal as the negated signal number.
        name = signal_name(-exit_code)
        return SuiteOutcome.ERROR, f"the test process was killed by signal {name}; it crashed"
    return SuiteOutcome.ERROR, f"pytest ended with exit code {exit_code}"


def signal_name(number: int) -> str:
    try:
        return f"{signal.Signals(number).name} ({number})"
    except ValueError:
        return str(number)


def metric_from(
    context: RunContext,
    suite: str,
    evidence: Path,
    values: Mapping[str, int | Fraction],
    unknown_reason: str = "",
    labels: dict[str, str] | None = None,
) -> list[Metric]:
    """Build metrics with full provenance; with `unknown_reason` every value is recorded unknown.

    A Fraction is stored exactly as "numerator/denominator", so a percentage such as 8999/100 is
    compared against its gate without rounding.

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
                exact=str(Fraction(value)) if known else None,
                value=float(value) if known else None,
                unknown_reason=unknown_reason,
                labels=dict(labels or {}),
            )
        )
    return metrics


def write_target_file(context: RunContext) -> Path:
    """Describe the target for the pytest plugin; passwords stay in environment variables."""
    deployment = context.deployment
    data = {
        "run_id": context.run.run_id,
        "environment": context.environment.name,
        "sensitive": context.environment.sensitive,
        "base_url": deployment.base_url,
        "realtime_url": deployment.realtime_url,
        "build_id": deployment.build_id,
        "request_timeout_s": context.environment.target.request_timeout_s,
        "accounts": deployment.accounts,
    }
    path = context.run.path / "target.json"
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    return path


def require_modules(modules: Mapping[str, str], extra: str) -> None:
    """Reject a suite whose tools are not importable, naming the package and the extra to install.

    `modules` maps an importable module name to its package on PyPI.
    """
    for module, package in modules.items():
        if importlib.util.find_spec(module) is None:
            fix = f"pip install -e '.[{extra}]' (or pip install {package})"
            raise UsageError(Problem.MISSING_TOOL, {"tool": package, "fix": fix})
