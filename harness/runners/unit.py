"""The unit runner: pytest with pytest-xdist under coverage.py, or another product's reports.

Three modes, chosen by the environment's [unit] table (see harness.config.environment):

- embedded: suites/unit against sut/agent_chat, in parallel, with every process measured;
- command: another checkout's own command, which writes JUnit XML and coverage into the run folder;
- ingest: a JUnit report and a coverage report that another CI already produced.

Every mode ends in the same evidence: junit/unit.xml and coverage/coverage.xml (Cobertura), from
which the metrics are read.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from harness.config.environment import Environment, UnitMode, UnitSettings, placeholders_in
from harness.errors import Problem, UsageError
from harness.evidence.allure import mark_flaky_retries
from harness.evidence.cobertura import CoverageTotals, parse_cobertura
from harness.evidence.junit import EvidenceError, JUnitCounts, parse_junit
from harness.evidence.quarantine import QuarantineReview
from harness.metrics import Metric
from harness.process import run_logged
from harness.pytest_unit import STATE_OPTION
from harness.runners.base import (
    NO_LOCUST_PLUGIN,
    RunContext,
    SuiteOptions,
    SuiteOutcome,
    SuiteResult,
    metric_from,
    require_modules,
)
from harness.runners.quarantine import classify_with_quarantine, review_junit
from harness.runners.unit_coverage import (
    CoverageFiles,
    CoverageProblem,
    ProcessRecord,
    child_environment,
    without_coverage_variables,
)

__all__ = ["UnitRunner"]

SUITE_DIR = "suites/unit"
SOURCE_DIR = "sut/agent_chat"
TRUSTED = (SuiteOutcome.PASSED, SuiteOutcome.FAILED)
# Python modules the embedded mode runs, with the package that provides each.
EMBEDDED_TOOLS = {
    "coverage": "coverage",
    "xdist": "pytest-xdist",
    "allure_pytest": "allure-pytest",
}


@dataclass(frozen=True)
class UnitPaths:
    """Locations of one run's unit evidence inside its run folder."""

    junit: Path
    allure: Path
    state: Path
    log: Path
    coverage: CoverageFiles

    @classmethod
    def for_run(cls, context: RunContext) -> UnitPaths:
        run = context.run
        log = run.subdir("logs") / "unit.log"
        return cls(
            junit=run.subdir("junit") / "unit.xml",
            allure=run.subdir("allure-results"),
            state=run.subdir("unit-state"),
            log=log,
            coverage=CoverageFiles(run.subdir("coverage"), log),
        )


class UnitRunner:
    """Runs or ingests unit tests and their line and branch coverage."""

    name = "unit"
    needs_target = False

    def preflight(
        self, root: Path, options: SuiteOptions, environment: Environment, environment_path: Path
    ) -> None:
        settings = environment.unit
        if settings.mode is UnitMode.INGEST:
            check_report_files(root, settings, environment_path)
        elif settings.mode is UnitMode.COMMAND:
            check_checkout(root, settings, environment_path)
        else:
            check_embedded_suite(root)
            require_modules(EMBEDDED_TOOLS, "unit")
        if reruns_for(options, settings):
            require_modules({"pytest_rerunfailures": "pytest-rerunfailures"}, "unit")
        if options.shard is not None and settings.mode is not UnitMode.EMBEDDED:
            reason = (
                f"--shard applies to the embedded unit suite only, but {environment_path} "
                f"sets [unit] mode {settings.mode.value}; drop --shard"
            )
            raise UsageError(Problem.BAD_ARGUMENT, {"reason": reason})

    def run(self, context: RunContext) -> SuiteResult:
        paths = UnitPaths.for_run(context)
        settings = context.environment.unit
        if settings.mode is UnitMode.INGEST:
            return self.ingest(context, paths, settings)
        if settings.mode is UnitMode.COMMAND:
            return self.run_command(context, paths, settings)
        return self.run_embedded(context, paths)

    def run_embedded(self, context: RunContext, paths: UnitPaths) -> SuiteResult:
        paths.coverage.write_rcfile(context.root / SOURCE_DIR)
        env = child_environment(context.root / "sut")
        exit_code = run_logged(
            embedded_command(context, paths),
            cwd=context.root,
            env=env,
            output=paths.log,
            timeout_s=context.options.timeout_s,
        )
        mark_flaky_retries(paths.allure)
        problem = ""
        try:
            paths.coverage.check_processes(ProcessRecord.read_all(paths.state))
            paths.coverage.combine(env, context.root)
            paths.coverage.report(env, context.root)
        except CoverageProblem as error:
            problem = str(error)
        collected = read_collected(paths.state)
        return self.result(context, paths, exit_code, collected, problem)

    def run_command(
        self, context: RunContext, paths: UnitPaths, settings: UnitSettings
    ) -> SuiteResult:
        assert settings.command is not None and settings.checkout is not None
        workers = str(context.options.unit.workers or settings.workers)
        command = expand_command(settings.command, paths, workers)
        checkout = context.root / settings.checkout
        paths.coverage.write_rcfile(None)
        env = without_coverage_variables(os.environ)
        exit_code = run_logged(
            command, cwd=checkout, env=env, output=paths.log, timeout_s=context.options.timeout_s
        )
        problem = ""
        if "coverage_data" in placeholders_in(settings.command):
            problem = combine_external_data(paths.coverage, env, checkout)
        return self.result(context, paths, exit_code, None, problem)

    def ingest(self, context: RunContext, paths: UnitPaths, settings: UnitSettings) -> SuiteResult:
        if settings.junit_xml is not None:
            shutil.copyfile(context.root / settings.junit_xml, paths.junit)
        problem = ""
        if settings.coverage_xml is not None:
            shutil.copyfile(context.root / settings.coverage_xml, paths.coverage.xml)
        elif settings.coverage_data is not None:
            paths.coverage.write_rcfile(None)
            shutil.copyfile(context.root / settings.coverage_data, paths.coverage.data_file)
            problem = report_or_problem(paths.coverage, context.root)
        missing = "" if settings.junit_xml else "no JUnit report to ingest: set junit_xml in [unit]"
        return self.result(context, paths, None, None, problem, missing)

    def result(
        self,
        context: RunContext,
        paths: UnitPaths,
        exit_code: int | None,
        collected: int | None,
        coverage_problem: str,
        junit_missing: str = "",
    ) -> SuiteResult:
        counts = read_counts(paths.junit, junit_missing)
        totals: CoverageTotals | None = None
        if not coverage_problem:
            try:
                totals = parse_cobertura(paths.coverage.xml)
            except EvidenceError as error:
                coverage_problem = f"coverage report {error}"
        review = review_junit(context, self.name, paths.junit, counts)
        tests_outcome, tests_reason = classify_with_quarantine(exit_code, counts, review, collected)
        outcome, reason = classify_with_quarantine(
            exit_code, counts, review, collected, coverage_problem
        )
        tests_unknown = "" if tests_outcome in TRUSTED else tests_reason
        # A run that collected nothing still imported code; its coverage figure means nothing.
        # Ingested coverage is valid without a JUnit report, because its tests ran elsewhere.
        standalone = exit_code is None and isinstance(counts, EvidenceError)
        coverage_unknown = coverage_problem or ("" if standalone else tests_unknown)
        metrics = count_metrics(context, paths.junit, counts, review, tests_unknown)
        metrics += coverage_metrics(context, paths.coverage.xml, totals, coverage_unknown)
        return SuiteResult(outcome, reason, exit_code, metrics)


def embedded_command(context: RunContext, paths: UnitPaths) -> list[str]:
    options, settings = context.options, context.environment.unit
    rcfile = paths.coverage.rcfile
    command = [sys.executable, "-m", "coverage", "run", f"--rcfile={rcfile}", "-m", "pytest"]
    command += [SUITE_DIR, "-p", "harness.pytest_unit", f"{STATE_OPTION}={paths.state}"]
    # allure-pytest and allure-pytest-bdd both define --alluredir; plain tests need the first.
    command += ["-p", "no:allure_pytest_bdd", "-p", "no:cacheprovider", *NO_LOCUST_PLUGIN]
    command += [f"--alluredir={paths.allure}", f"--junitxml={paths.junit}"]
    command += ["-o", "junit_family=xunit2", "-o", "junit_suite_name=unit"]
    command += [
        "-n",
        str(options.unit.workers if options.unit.workers is not None else settings.workers),
    ]
    command += options.shard_arguments()
    reruns = reruns_for(options, settings)
    if reruns:
        command += ["--reruns", str(reruns)]
    if options.select:
        command += ["-k", options.select]
    return command


def reruns_for(options: SuiteOptions, settings: UnitSettings) -> int:
    return options.unit.reruns if options.unit.reruns is not None else settings.reruns


def expand_command(command: list[str], paths: UnitPaths, workers: str) -> list[str]:
    values = {
        "junit_xml": str(paths.junit),
        "coverage_xml": str(paths.coverage.xml),
        "coverage_data": str(paths.coverage.data_file),
        "alluredir": str(paths.allure),
        "workers": workers,
    }
    return [argument.format(**values) for argument in command]


def combine_external_data(files: CoverageFiles, env: dict[str, str], cwd: Path) -> str:
    """Combine parallel data files if the command wrote them, then write the reports."""
    try:
        if files.parallel_files():
            files.combine(env, cwd)
        elif not files.data_file.is_file():
            raise CoverageProblem(f"nothing to combine: no coverage data files in {files.folder}")
        files.report(env, cwd)
    except CoverageProblem as error:
        return str(error)
    return ""


def report_or_problem(files: CoverageFiles, cwd: Path) -> str:
    try:
        files.report(without_coverage_variables(child_environment(cwd)), cwd)
    except CoverageProblem as error:
        return str(error)
    return ""


def read_counts(junit: Path, missing: str) -> JUnitCounts | EvidenceError:
    if missing:
        return EvidenceError(missing)
    try:
        return parse_junit(junit)
    except EvidenceError as error:
        return error


def read_collected(state: Path) -> int | None:
    """Return the number of tests pytest selected, or None when collection never finished."""
    path = state / "collected.json"
    if not path.is_file():
        return None
    return int(json.loads(path.read_text(encoding="utf-8"))["collected"])


def count_metrics(
    context: RunContext,
    junit: Path,
    counts: JUnitCounts | EvidenceError,
    review: QuarantineReview,
    unknown: str,
) -> list[Metric]:
    if isinstance(counts, EvidenceError):
        counts = JUnitCounts(0, 0, 0, 0, 0)
    # An excused failure still ran, so it counts as executed but not as failed. `flaky` counts
    # the tests that passed only on a rerun, which the retry cap gates hold against a maximum.
    excused = len(review.excused)
    values: dict[str, int | Fraction] = {
        "unit.tests.total": counts.total,
        "unit.tests.executed": counts.executed,
        "unit.tests.passed": counts.passed,
        "unit.tests.failed": counts.failed + counts.errors - excused,
        "unit.tests.quarantined_failed": excused,
        "unit.tests.skipped": counts.skipped,
        "unit.tests.flaky": counts.flaky,
    }
    return metric_from(context, "unit", junit, values, unknown)


def coverage_metrics(
    context: RunContext, report: Path, totals: CoverageTotals | None, unknown: str
) -> list[Metric]:
    if totals is None or unknown:
        totals, unknown = CoverageTotals(0, 1), unknown or "no coverage report"
    values: dict[str, int | Fraction] = {
        "unit.coverage.line_percent": totals.line_percent,
        "unit.coverage.statements.covered": totals.lines_covered,
        "unit.coverage.statements.total": totals.lines_valid,
    }
    if totals.has_branches:
        values["unit.coverage.branch_percent"] = totals.branch_percent
        values["unit.coverage.branches.covered"] = totals.branches_covered
        values["unit.coverage.branches.total"] = totals.branches_valid
    return metric_from(context, "unit", report, values, unknown)


def check_embedded_suite(root: Path) -> None:
    for relative in (SUITE_DIR, SOURCE_DIR):
        if not (root / relative).is_dir():
            reason = f"{root / relative} not found; the unit suite runs {SUITE_DIR} on {SOURCE_DIR}"
            raise UsageError(Problem.BAD_ARGUMENT, {"reason": reason})


def check_checkout(root: Path, settings: UnitSettings, path: Path) -> None:
    checkout = root / str(settings.checkout)
    if not checkout.is_dir():
        reason = f"checkout {checkout} is not a folder"
        raise UsageError(
            Problem.INVALID_VALUE, {"path": path, "key": "unit.checkout", "reason": reason}
        )


def check_report_files(root: Path, settings: UnitSettings, path: Path) -> None:
    files = {
        "junit_xml": settings.junit_xml,
        "coverage_xml": settings.coverage_xml,
        "coverage_data": settings.coverage_data,
    }
    for key, value in files.items():
        if value is not None and not (root / value).is_file():
            reason = f"file {root / value} not found"
            raise UsageError(
                Problem.INVALID_VALUE, {"path": path, "key": f"unit.{key}", "reason": reason}
            )
