"""The suites the harness can run, by name."""

from __future__ import annotations

from harness.errors import Problem, UsageError
from harness.runners.base import Runner
from harness.runners.contract import ContractRunner
from harness.runners.security import SecurityRunner
from harness.runners.uat import UatRunner

__all__ = ["RUNNERS", "runner_for"]

RUNNER_LIST: list[Runner] = [UatRunner(), ContractRunner(), SecurityRunner()]
RUNNERS: dict[str, Runner] = {runner.name: runner for runner in RUNNER_LIST}


def runner_for(name: str) -> Runner:
    if name not in RUNNERS:
        raise UsageError(
            Problem.UNKNOWN_SUITE, {"name": name, "choices": ", ".join(sorted(RUNNERS))}
        )
    return RUNNERS[name]
