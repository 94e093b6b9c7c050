"""The e2e runner: Playwright tests of the web client's critical flows, once per browser project.

A failed test runs again, up to `retries` times from e2e.toml, through pytest's last-failed cache.
A test that passes on a retry counts as flaky, and one that fails every attempt counts as failed.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from harness.channels.base import BrowserUnavailable
from harness.config.e2e import E2eConfig, load_e2e_config
from harness.config.environment import Environment
from harness.errors import Problem, UsageError
from harness.evidence.junit import EvidenceError, case_outcomes, parse_junit
from harness.evidence.quarantine import QuarantineReview
from harness.metrics import Metric
from harness.process import run_logged
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
from harness.runners.quarantine import apply_quarantine, with_note

if TYPE_CHECKING:
    from harness.channels.projects import ProjectPlan

__all__ = ["Attempts", "E2eRunner"]

CONFIG_FILE = "e2e.toml"
SUITE_DIR = "suites/e2e"
PROJECTS_VARIABLE = "HARNESS_E2E_PROJECTS"
ARTIFACTS_VARIABLE = "HARNESS_E2E_ARTIFACTS"


@dataclass
class Attempts:
    """Each test's outcome per attempt, keyed by JUnit id; the last attempt decides.

    A test in `excused` whose last attempt failed is quarantined, so it is not counted as failed.
    """

    outcomes: dict[str, list[str]] = field(default_factory=dict)
    excused: frozenset[str] = frozenset()

    def add(self, attempt: dict[str, str]) -> None:
        for case, outcome in attempt.items():
            self.outcomes.setdefault(case, []).append(outcome)

    def counts(self, project: str | None = None) -> dict[str, int]:
        passed = failed = flaky = 0
        for case, history in self.outcomes.items():
            if project is not None and not case.endswith(f"[{project}]"):
                continue
            if history[-1] == "passed":
                passed += 1
                flaky += len(history) > 1
            elif history[-1] != "skipped" and case not in self.excused:
                failed += 1
        return {"passed": passed, "failed": failed, "flaky": flaky}

    def final_outcomes(self) -> dict[str, str]:
        return {case: history[-1] for case, history in self.outcomes.items()}


def load_plans(root: Path) -> tuple[E2eConfig, list[ProjectPlan]]:
    """Load e2e.toml and plan its projects, importing Playwright only now that it is needed."""
    from harness.channels.projects import plan_projects

    path = root / CONFIG_FILE
    config = load_e2e_config(path)
    try:
        return config, plan_projects(config, path)
    except BrowserUnavailable as error:
        raise UsageError(
            Problem.BROWSER_UNAVAILABLE, {"what": "the e2e suite", "reason": error}
        ) from None


class E2eRunner:
    """Runs suites/e2e with pytest and allure-pytest, once per runnable browser project."""

    name = "e2e"
    needs_target = True

    def preflight(
        self, root: Path, options: SuiteOptions, environment: Environment, environment_path: Path
    ) -> None:
        from harness.channels.projects import check_projects

        if not (root / SUITE_DIR).is_dir():
            reason = f"{root / SUITE_DIR} not found; run from the project folder or set --root"
            raise UsageError(Problem.BAD_ARGUMENT, {"reason": reason})
        _, plans = load_plans(root)
        try:
            check_projects(plans)
        except BrowserUnavailable as error:
            raise UsageError(
                Problem.BROWSER_UNAVAILABLE, {"what": "the e2e suite", "reason": error}
            ) from None

    def run(self, context: RunContext) -> SuiteResult:
        from harness.channels.projects import write_plans

        config, plans = load_plans(context.root)
        folder = context.run.subdir("e2e")
        write_plans(folder / "projects.json", plans)
        env = dict(
            os.environ,
            HARNESS_TARGET_FILE=str(write_target_file(context)),
            HARNESS_E2E_PROJECTS=str(folder / "projects.json"),
            HARNESS_E2E_ARTIFACTS=str(folder / "artifacts"),
        )
        if not any(plan.runnable for plan in plans):
            reason = "no browser project can run here: " + "; ".join(
                f"{plan.name}: {plan.not_run_reason}" for plan in plans
            )
            return SuiteResult(SuiteOutcome.NO_EVIDENCE, reason, None, [])
        return self.attempt_all(context, config, plans, env)

    def attempt_all(
        self, context: RunContext, config: E2eConfig, plans: list[ProjectPlan], env: dict[str, str]
    ) -> SuiteResult:
        attempts = Attempts()
        first = context.run.subdir("junit") / "e2e.xml"
        exit_code = self.pytest(context, env, first, retry=False)
        try:
            outcome, reason = classify_pytest(exit_code, parse_junit(first))
            attempts.add(case_outcomes(first))
        except EvidenceError as error:
            outcome, reason = classify_pytest(exit_code, error)
        for number in range(1, config.retries + 1):
            if outcome != SuiteOutcome.FAILED or attempts.counts()["failed"] == 0:
                break
            retry = context.run.subdir("junit") / f"e2e-retry-{number}.xml"
            retry_exit = self.pytest(context, env, retry, retry=True)
            try:
                attempts.add(case_outcomes(retry))
            except EvidenceError as error:
                reason = f"retry {number} left no trustworthy report: {error}"
                outcome = SuiteOutcome.ERROR
                break
            if retry_exit not in (0, 1):
                outcome, reason = SuiteOutcome.ERROR, f"retry {number}: exit code {retry_exit}"
        return self.result(context, plans, attempts, outcome, reason, exit_code)

    def pytest(self, context: RunContext, env: dict[str, str], junit: Path, retry: bool) -> int:
        run_path = context.run.path
        command = [sys.executable, "-m", "pytest", SUITE_DIR]
        # allure-pytest-bdd defines --alluredir too, and this suite has no Gherkin, so only the
        # plain plugin loads.
        command += ["-p", "no:allure_pytest_bdd", "-p", "allure_pytest", *NO_LOCUST_PLUGIN]
        command += [f"--alluredir={run_path / 'allure-results'}", f"--junitxml={junit}"]
        command += ["-o", "junit_family=xunit2", "-o", "junit_suite_name=e2e"]
        command += ["-o", f"cache_dir={run_path / 'e2e' / 'pytest-cache'}"]
        if retry:
            command += ["--last-failed", "--last-failed-no-failures", "none"]
        if context.options.select:
            command += ["-k", context.options.select]
        return run_logged(
            command,
            cwd=context.root,
            env=env,
            output=context.run.subdir("logs") / "e2e.log",
            timeout_s=context.options.timeout_s,
        )

    def result(
        self,
        context: RunContext,
        plans: list[ProjectPlan],
        attempts: Attempts,
        outcome: SuiteOutcome,
        reason: str,
        exit_code: int,
    ) -> SuiteResult:
        review = QuarantineReview(self.name)
        if attempts.outcomes:
            review = apply_quarantine(context, self.name, attempts.final_outcomes())
            attempts.excused = review.excused_ids
        totals = attempts.counts()
        if outcome == SuiteOutcome.FAILED and totals["failed"] == 0 and totals["passed"] == 0:
            outcome = SuiteOutcome.NO_EVIDENCE
            reason = "every executed test is a quarantined failure, so none passed"
        elif outcome == SuiteOutcome.FAILED and totals["failed"] == 0:
            passed = f"all but {len(review.excused)} passed" if review.excused else "all passed"
            outcome, reason = SuiteOutcome.PASSED, f"{passed}, {totals['flaky']} only on a retry"
        elif outcome == SuiteOutcome.FAILED:
            reason = f"{totals['failed']} failed after retries ({totals['flaky']} flaky)"
        reason = with_note(reason, review)
        summary = write_summary(context, plans, attempts)
        trusted = outcome in (SuiteOutcome.PASSED, SuiteOutcome.FAILED)
        unknown = "" if trusted else reason
        metrics = e2e_metrics(context, summary, plans, attempts, unknown, len(review.excused))
        not_run = [plan.name for plan in plans if not plan.runnable]
        if not_run:
            # Named in the suite line, so a browser that was not installed is not missed.
            reason += f"; not run (browser not installed): {', '.join(not_run)}"
        return SuiteResult(outcome, reason, exit_code, metrics)


def write_summary(context: RunContext, plans: list[ProjectPlan], attempts: Attempts) -> Path:
    """Write e2e/results.json: every test's attempts and every project's counts or reason."""
    projects: dict[str, dict[str, int] | dict[str, str]] = {}
    for plan in plans:
        if plan.runnable:
            projects[plan.name] = attempts.counts(plan.name)
        else:
            projects[plan.name] = {"not run": plan.not_run_reason}
    path = context.run.subdir("e2e") / "results.json"
    data = {"tests": attempts.outcomes, "projects": projects, "totals": attempts.counts()}
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return path


def e2e_metrics(
    context: RunContext,
    summary: Path,
    plans: list[ProjectPlan],
    attempts: Attempts,
    unknown_reason: str,
    excused: int = 0,
) -> list[Metric]:
    """Totals and per-project counts; a project that did not run has unknown values with why.

    `e2e.flaky` counts the tests that passed only on a retry, which the retry cap gates hold
    against a maximum. `excused` quarantined failures ran, so they count as executed.
    """
    totals = attempts.counts()
    values = {f"e2e.{name}": value for name, value in totals.items()}
    values["e2e.executed"] = totals["passed"] + totals["failed"] + excused
    values["e2e.quarantined_failed"] = excused
    values["e2e.projects.not_run"] = sum(not plan.runnable for plan in plans)
    metrics = metric_from(context, "e2e", summary, values, unknown_reason)
    for plan in plans:
        counts = attempts.counts(plan.name)
        named = {f"e2e.{plan.metric_key}.{name}": value for name, value in counts.items()}
        reason = unknown_reason if plan.runnable else f"not run: {plan.not_run_reason}"
        metrics += metric_from(context, "e2e", summary, named, reason)
        # The same counts under the totals' names with a project label, for gate selectors
        # such as labels = { project = "pixel-7" }.
        labelled = {f"e2e.{name}": value for name, value in counts.items()}
        labels = {"project": plan.name}
        metrics += metric_from(context, "e2e", summary, labelled, reason, labels)
    return metrics
