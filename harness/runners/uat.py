"""The UAT runner: Gherkin acceptance scenarios through pytest-bdd on the selected channels."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from harness.channels.registry import check_channels, preflight_channels
from harness.config.environment import Environment
from harness.errors import Problem, UsageError
from harness.evidence.junit import EvidenceError, parse_junit
from harness.metrics import MetricStore
from harness.process import run_logged
from harness.reporting.parity import parity_from_junit, write_parity
from harness.runners.base import (
    RunContext,
    SuiteOptions,
    SuiteOutcome,
    SuiteResult,
    classify_pytest,
    metric_from,
)
from harness.selection import marker_expression

__all__ = ["UatRunner", "write_target_file"]

SCENARIO_DIR = "scenarios"


class UatRunner:
    """Runs scenarios/ with pytest-bdd, allure-pytest-bdd and the harness's pytest plugin."""

    name = "uat"
    needs_target = True

    def preflight(
        self, root: Path, options: SuiteOptions, environment: Environment, environment_path: Path
    ) -> None:
        # Imported here because gherkin comes with the uat extra, which a unit-only install lacks.
        from harness.scenarios import check_feature_files

        if options.workers is not None or options.reruns is not None:
            reason = "--workers and --reruns apply to the unit suite only"
            raise UsageError(Problem.BAD_ARGUMENT, {"reason": reason})
        check_channels(options.channels)
        check_feature_files(root / SCENARIO_DIR)
        marker_expression(options.tags, sensitive=False, allow_writes=False)
        preflight_channels(options.channels)

    def run(self, context: RunContext) -> SuiteResult:
        run_path = context.run.path
        junit = context.run.subdir("junit") / "uat.xml"
        target_file = write_target_file(context)
        command = self.command(context, junit)
        env = dict(os.environ, HARNESS_TARGET_FILE=str(target_file))
        exit_code = run_logged(
            command,
            cwd=context.root,
            env=env,
            output=context.run.subdir("logs") / "uat.log",
            timeout_s=context.options.timeout_s,
        )
        from harness.signoff import write_sheet  # gherkin comes with the uat extra, see preflight

        manual = write_sheet(context.run, context.root / SCENARIO_DIR)
        MetricStore(context.run).write("uat-manual", manual)
        return self.result(context, exit_code, junit, run_path)

    def command(self, context: RunContext, junit: Path) -> list[str]:
        run_path = context.run.path
        options = context.options
        command = [sys.executable, "-m", "pytest", *(options.node_ids or [SCENARIO_DIR])]
        # allure-pytest and allure-pytest-bdd both define --alluredir; the Gherkin flavour reports
        # scenarios and steps, so it replaces the plain one that pyproject.toml enables.
        command += ["-p", "no:allure_pytest", "-p", "allure_pytest_bdd", "-p", "no:cacheprovider"]
        command += [f"--alluredir={run_path / 'allure-results'}", f"--junitxml={junit}"]
        command += ["-o", "junit_family=xunit2", "-o", "junit_suite_name=uat"]
        command += ["--channel", ",".join(options.channels)]
        if options.select:
            command += ["-k", options.select]
        # pytest-bdd turns each Gherkin tag into a marker of the same name without the @.
        sensitive = context.environment.sensitive
        command += ["-m", marker_expression(options.tags, sensitive, options.allow_writes)]
        return command

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
        matrix = parity_from_junit(junit)
        if len(matrix.channels) > 1:
            write_parity(run_path, run_path / "allure-results", matrix)
        values["uat.parity.gaps"] = len(matrix.gaps())
        # Only a report that agrees with the exit code yields numbers a gate may trust.
        unknown = "" if outcome in (SuiteOutcome.PASSED, SuiteOutcome.FAILED) else reason
        metrics = metric_from(context, self.name, junit, values, unknown)
        return SuiteResult(outcome, reason, exit_code, metrics)


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


def uat_values(total: int, passed: int, failed: int, skipped: int) -> dict[str, int]:
    return {
        "uat.scenarios.total": total,
        "uat.scenarios.executed": passed + failed,
        "uat.scenarios.passed": passed,
        "uat.scenarios.failed": failed,
        "uat.scenarios.skipped": skipped,
    }
