"""The UAT runner: Gherkin acceptance scenarios through pytest-bdd on the selected channels."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path

from harness.channels.registry import check_channels, preflight_channels
from harness.config.environment import Environment
from harness.devices.preflight import check_device_selection
from harness.errors import Problem, UsageError
from harness.evidence.junit import EvidenceError, parse_junit
from harness.metrics import MetricStore
from harness.process import run_logged
from harness.reporting.parity import parity_from_junit, write_parity
from harness.runners.base import (
    NO_LOCUST_PLUGIN,
    RunContext,
    SuiteOptions,
    SuiteOutcome,
    SuiteResult,
    classify_pytest,
    metric_from,
    write_target_file,
)
from harness.runners.device import device_plan_environment
from harness.runners.quarantine import classify_with_quarantine, review_junit
from harness.selection import marker_expression

__all__ = ["UatRunner"]

SCENARIO_DIR = "scenarios"
MOBILE = "mobile"
# The device set the mobile channel runs on unless --devices names profiles.
MOBILE_SET = "mobile-channel"


class UatRunner:
    """Runs scenarios/ with pytest-bdd, allure-pytest-bdd and the harness's pytest plugin."""

    name = "uat"
    needs_target = True

    def preflight(
        self, root: Path, options: SuiteOptions, environment: Environment, environment_path: Path
    ) -> None:
        # Imported here because gherkin comes with the uat extra, which a unit-only install lacks.
        from harness.scenarios import check_feature_files

        if options.unit.workers is not None or options.unit.reruns is not None:
            reason = "--workers and --reruns apply to the unit suite only"
            raise UsageError(Problem.BAD_ARGUMENT, {"reason": reason})
        check_channels(options.channels)
        check_feature_files(root / SCENARIO_DIR)
        marker_expression(options.tags, sensitive=False, allow_writes=False)
        preflight_channels(options.channels)
        if MOBILE in options.channels:
            check_device_selection(root, options.devices, MOBILE_SET, options.environment)

    def run(self, context: RunContext) -> SuiteResult:
        run_path = context.run.path
        junit = context.run.subdir("junit") / "uat.xml"
        target_file = write_target_file(context)
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
        from harness.signoff import write_sheet  # gherkin comes with the uat extra, see preflight

        manual = write_sheet(context.run, context.root / SCENARIO_DIR)
        MetricStore(context.run).write("uat-manual", manual)
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
        options = context.options
        command = [sys.executable, "-m", "pytest", *(options.node_ids or [SCENARIO_DIR])]
        # allure-pytest and allure-pytest-bdd both define --alluredir; the Gherkin flavour reports
        # scenarios and steps, so it replaces the plain one that pyproject.toml enables.
        command += ["-p", "no:allure_pytest", "-p", "allure_pytest_bdd", "-p", "no:cacheprovider"]
        command += NO_LOCUST_PLUGIN
        command += [f"--alluredir={run_path / 'allure-results'}", f"--junitxml={junit}"]
        command += ["-o", "junit_family=xunit2", "-o", "junit_suite_name=uat"]
        command += ["--channel", ",".join(options.channels), *options.shard_arguments()]
        if options.select:
            command += ["-k", options.select]
        # pytest-bdd turns each Gherkin tag into a marker of the same name without the @.
        sensitive = context.environment.sensitive
        command += ["-m", marker_expression(options.tags, sensitive, options.allow_writes)]
        return command

    def result(
        self, context: RunContext, exit_code: int | None, junit: Path, run_path: Path
    ) -> SuiteResult:
        """Classify the report and exit code into metrics; a merged report has exit code None."""
        try:
            counts = parse_junit(junit)
        except EvidenceError as error:
            outcome, reason = classify_pytest(exit_code, error)
            metrics = metric_from(context, self.name, junit, uat_values(0, 0, 0, 0), reason)
            return SuiteResult(outcome, reason, exit_code, metrics)

        review = review_junit(context, self.name, junit, counts)
        outcome, reason = classify_with_quarantine(exit_code, counts, review)
        excused = len(review.excused)
        failed = counts.failed + counts.errors - excused
        values = uat_values(counts.total, counts.passed, failed, counts.skipped, excused)
        matrix = parity_from_junit(junit)
        if len(matrix.channels) > 1:
            write_parity(run_path, run_path / "allure-results", matrix)
        values["uat.parity.gaps"] = len(matrix.gaps())
        # Only a report that agrees with the exit code yields numbers a gate may trust.
        unknown = "" if outcome in (SuiteOutcome.PASSED, SuiteOutcome.FAILED) else reason
        metrics = metric_from(context, self.name, junit, values, unknown)
        return SuiteResult(outcome, reason, exit_code, metrics)


def uat_values(
    total: int, passed: int, failed: int, skipped: int, quarantined: int = 0
) -> dict[str, int]:
    """Count scenarios; a quarantined failure ran, so it is executed but not failed."""
    return {
        "uat.scenarios.total": total,
        "uat.scenarios.executed": passed + failed + quarantined,
        "uat.scenarios.passed": passed,
        "uat.scenarios.failed": failed,
        "uat.scenarios.quarantined_failed": quarantined,
        "uat.scenarios.skipped": skipped,
    }
