"""Runners: one per suite kind, each running the real tool and turning its evidence into metrics."""

from harness.runners.base import RunContext, Runner, SuiteOutcome, SuiteResult
from harness.runners.registry import RUNNERS, runner_for

__all__ = ["RUNNERS", "RunContext", "Runner", "SuiteOutcome", "SuiteResult", "runner_for"]
