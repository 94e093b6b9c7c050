"""The suites the harness can run, by name."""

from __future__ import annotations

from collections.abc import Iterable

from harness.errors import Problem, UsageError
from harness.runners.base import Runner
from harness.runners.contract import ContractRunner
from harness.runners.device import DeviceRunner
from harness.runners.e2e import E2eRunner
from harness.runners.load import LoadRunner
from harness.runners.production import DeployRunner, ProbeRunner
from harness.runners.security import SecurityRunner
from harness.runners.uat import UatRunner
from harness.runners.unit import UnitRunner

__all__ = ["RUNNERS", "runner_for"]

# The order in which a stage run executes its suites. Suites that fill the target with fuzzed data
# or trip its login rate limit run after those that expect a clean service. The security suite
# brute-forces a probe account only, so it runs before the contract suite, whose fuzzed logins can
# make the service rate-limit the accounts the security suite logs in with.
ALL_RUNNERS: list[Runner] = [
    UnitRunner(),
    UatRunner(),
    E2eRunner(),
    DeviceRunner(),
    SecurityRunner(),
    ContractRunner(),
    LoadRunner(),
    DeployRunner(),
    ProbeRunner(),
]
RUNNERS: dict[str, Runner] = {runner.name: runner for runner in ALL_RUNNERS}


def in_run_order(names: Iterable[str]) -> tuple[str, ...]:
    """Sort suite names into the order a stage run executes them; unknown names go last."""
    position = {runner.name: index for index, runner in enumerate(ALL_RUNNERS)}
    return tuple(sorted(names, key=lambda name: (position.get(name, len(position)), name)))


def runner_for(name: str) -> Runner:
    if name not in RUNNERS:
        raise UsageError(
            Problem.UNKNOWN_SUITE, {"name": name, "choices": ", ".join(sorted(RUNNERS))}
        )
    return RUNNERS[name]
