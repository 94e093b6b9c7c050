"""The suites the harness can run, by name."""

from __future__ import annotations

from harness.errors import Problem, UsageError
from harness.runners.base import Runner
from harness.runners.contract import ContractRunner
from harness.runners.device import DeviceRunner
from harness.runners.e2e import E2eRunner
from harness.runners.production import DeployRunner, ProbeRunner
from harness.runners.security import SecurityRunner
from harness.runners.uat import UatRunner
from harness.runners.unit import UnitRunner

__all__ = ["RUNNERS", "runner_for"]

ALL_RUNNERS: list[Runner] = [
    UatRunner(),
    UnitRunner(),
    E2eRunner(),
    DeviceRunner(),
    ContractRunner(),
    SecurityRunner(),
    DeployRunner(),
    ProbeRunner(),
]
RUNNERS: dict[str, Runner] = {runner.name: runner for runner in ALL_RUNNERS}


def runner_for(name: str) -> Runner:
    if name not in RUNNERS:
        raise UsageError(
            Problem.UNKNOWN_SUITE, {"name": name, "choices": ", ".join(sorted(RUNNERS))}
        )
    return RUNNERS[name]
