"""The suites the harness can run, by name."""

from __future__ import annotations

from harness.errors import Problem, UsageError
from harness.runners.base import Runner
from harness.runners.load import LoadRunner
from harness.runners.uat import UatRunner

__all__ = ["RUNNERS", "runner_for"]

AVAILABLE: list[Runner] = [UatRunner(), LoadRunner()]
RUNNERS: dict[str, Runner] = {runner.name: runner for runner in AVAILABLE}


def runner_for(name: str) -> Runner:
    if name not in RUNNERS:
        raise UsageError(
            Problem.UNKNOWN_SUITE, {"name": name, "choices": ", ".join(sorted(RUNNERS))}
        )
    return RUNNERS[name]
