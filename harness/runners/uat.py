"""The UAT runner: Gherkin acceptance scenarios through pytest-bdd on the selected channels."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path

from harness.channels.registry import check_channels
from harness.devices.preflight import check_device_selection
from harness.evidence.junit import EvidenceError, parse_junit
from harness.process import run_logged
from harness.runners.base import (
    RunContext,
    SuiteOptions,
    SuiteOutcome,
    SuiteResult,
    classify_pytest,
    metric_from,
    write_target_file,
)
from harness.runners.device import device_plan_environment
from harness.scenarios import check_feature_files

__all__ = ["UatRunner"]

SCENARIO_DIR = "scenarios"
MOBILE = "mobile"
# The device set the mobile channel runs on unless --devices names profiles.
MOBILE_SET = "mobile-channel"


class UatRunner:
    """Runs scenarios/ with pytest-bdd, allure-pytest-bdd and the harness's pytest plugin."""

    name = "uat"

    def preflight(self, root: Path, options: SuiteOptions) -> None:
        check_channels(options.channels)
        check_feature_files(root / SCENARIO_DIR)
        if MOBILE in options.channels:
            check_device_selection(root, options.devices, MOBILE_SET, options.environment)

    def run(self, context: RunContext) -> SuiteResult:
        run_path = context.run.path
        junit = context.run.subdir("junit") / "uat.xml"
        target_file = self.write_target_file(context)
        command = self.command(context, junit)
        env = dict(os.environ, HARNESS_TARGET_FILE=str(target_file))
        with self.mobile_plan(context) as plan_env:
            exit_code = run_logged(
                command,
                cwd=context.root,
                env=env | plan_env,
                output=context.run.subdir("logs") / "uat.log",
                timeout_s=context.options.timeout_s,
            )
        return self.result(context, exit_code, junit, run_path)

    @contextlib.contextmanager
    def mobile_plan(self, context: RunContext) -> Iterator[dict[str, str]]:
        """Start Appium for the mobile channel when the run uses it; yield the plan's variables."""
        options = context.options
        if MOBILE not in options.channels:
            yield {}
            return
        profiles = check_device_selection(
            context.root, options.devices, MOBILE_SET, options.environment
        )
        with device_plan_environment(context, profiles, None) as plan_env:
            yield plan_env

    def command(self, context: RunContext, junit: Path) -> list[str]:
        run_path = context.run.path
        command = [sys.executable, "-m", "pytest", SCENARIO_DIR]
        # allure-pytest and allure-pytest-bdd both define --alluredir; the Gherkin flavour reports
        # scenarios and steps, so the plain one is disabled here.
        command += ["-p", "no:allure_pytest", "-p", "no:cacheprovider"]
        command += [f"--alluredir={run_path / 'allure-results'}", f"--junitxml={junit}"]
        command += ["-o", "junit_family=xunit2", "-o", "junit_suite_name=uat"]
        command += ["--channel", ",".join(context.options.channels)]
        if context.options.select:
            command += ["-k", context.options.select]
        if context.environment.sensitive and not context.options.allow_writes:
            # Scenarios that create rooms or messages must never reach a sensitive environment
            # unless the user said so; pytest-bdd turns the @readonly tag into this marker.
            command += ["-m", "readonly"]
        return command

    def write_target_file(self, context: RunContext) -> Path:
        return write_target_file(context)

    def result(
        self, context: RunContext, exit_code: int, junit: Path, run_path: Path
    ) -> SuiteResult:
        try:
            counts = parse_junit(junit)
        except EvidenceError as error:
            outcome, reason = classify_pytest(exit_code, error)
            metrics = metric_from(context, self.name, junit, uat_values(0, 0, 0, 0), reason)
            return SuiteResult(outcome, reason, exit_code, metrics)

        outcome, reason = classify_pytest(exit_code, counts)
        values = uat_values(
            counts.total, counts.passed, counts.failed + counts.errors, counts.skipped
        )
        # Only a report that agrees with the exit code yields numbers a gate may trust.
        unknown = "" if outcome in (SuiteOutcome.PASSED, SuiteOutcome.FAILED) else reason
        metrics = metric_from(context, self.name, junit, values, unknown)
        return SuiteResult(outcome, reason, exit_code, metrics)


def uat_values(total: int, passed: int, failed: int, skipped: int) -> dict[str, int]:
    return {
        "uat.scenarios.total": total,
        "uat.scenarios.executed": passed + failed,
        "uat.scenarios.passed": passed,
        "uat.scenarios.failed": failed,
        "uat.scenarios.skipped": skipped,
    }
