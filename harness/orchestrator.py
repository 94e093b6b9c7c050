"""A run from start to verdict: check input, start the target, run suites, evaluate the gates."""

from __future__ import annotations

import contextlib
import datetime
import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path

from harness.config.environment import Environment, load_environment
from harness.config.gates import GatesFile, load_gates
from harness.config.quarantine import QUARANTINE_FILE, load_quarantine
from harness.errors import HarnessError, Problem, UsageError
from harness.evaluation import evaluate_stage
from harness.fingerprint import write_fingerprint
from harness.logs import SECRET_MASK, log_to_run_folder
from harness.metrics import MetricStore
from harness.process import stop_running_children
from harness.reporting.allure import (
    write_categories,
    write_environment_properties,
    write_executor,
    write_gate_results,
    write_quarantine_results,
)
from harness.reporting.junit import write_merged_junit
from harness.runners.base import (
    EnvironmentCheck,
    RunContext,
    Runner,
    SuiteOptions,
    SuiteOutcome,
    SuiteResult,
)
from harness.runners.registry import runner_for
from harness.runs import RunFolder, RunStatus, SuiteRecord, utc_now
from harness.shards import SHARDABLE_SUITES
from harness.target import Deployment, TargetOptions, open_target, untargeted_deployment
from harness.verdict import ExitCode, Verdict, VerdictReport, decide

__all__ = [
    "RunRequest",
    "evaluate_run",
    "execute_run",
    "finish",
    "record_suite",
    "report_shard_run",
]

log = logging.getLogger(__name__)

JOIN_POLL_S = 0.5


@dataclass(frozen=True)
class RunRequest:
    """What the user asked for on the command line."""

    root: Path
    reports: Path
    suites: tuple[str, ...]
    environment: str
    stage: str | None
    target: TargetOptions
    options: SuiteOptions
    # A stage run evaluates every gate of the stage, so a suite that did not run fails its gates;
    # a suite run evaluates only the gates of the suites it ran.
    whole_stage: bool = False


@dataclass(frozen=True)
class Plan:
    """A request checked against the configuration files, before anything starts."""

    environment: Environment
    environment_path: Path
    gates: GatesFile
    stage: str


def plan_run(request: RunRequest) -> Plan:
    """Validate every input that can be checked offline, so bad input never creates a run."""
    environment = load_environment(request.environment, request.root)
    gates_path = request.root / "gates.toml"
    gates = load_gates(gates_path)
    stage = request.stage or suite_default_stage(request) or environment.stage
    gates.stage(stage, gates_path)
    load_quarantine(request.root / QUARANTINE_FILE, datetime.date.today())
    if not request.suites:
        reason = f"stage {stage} in {gates_path} has no gates, so no suite to run; add gates"
        raise UsageError(Problem.BAD_ARGUMENT, {"reason": reason})
    path = request.root / "environments" / f"{request.environment}.toml"
    runners = [runner_for(suite) for suite in request.suites]
    check_shardable(request)
    for runner in runners:
        runner.preflight(request.root, request.options, environment, path)
        if isinstance(runner, EnvironmentCheck):
            runner.check_environment(request.root, environment, stage, request.options)
    if request.target.faults_file is not None and not any(r.needs_target for r in runners):
        reason = f"--faults applies to suites that start the service, not to {request.suites[0]}"
        raise UsageError(Problem.BAD_ARGUMENT, {"reason": reason})
    if request.target.faults_file is not None and not request.target.faults_file.is_file():
        reason = f"fault file {request.target.faults_file} not found; check --faults"
        raise UsageError(Problem.BAD_ARGUMENT, {"reason": reason})
    if request.target.faults_file is not None and not environment.target.embedded:
        reason = f"--faults applies only to the embedded service, not to {request.environment}"
        raise UsageError(Problem.BAD_ARGUMENT, {"reason": reason})
    return Plan(environment, path, gates, stage)


def check_shardable(request: RunRequest) -> None:
    if request.options.shard is None:
        return
    for suite in request.suites:
        if suite not in SHARDABLE_SUITES:
            shardable = ", ".join(sorted(SHARDABLE_SUITES))
            reason = f"the {suite} suite cannot be sharded; --shard applies to: {shardable}"
            raise UsageError(Problem.BAD_ARGUMENT, {"reason": reason})


def suite_default_stage(request: RunRequest) -> str | None:
    """Return the stage a single suite's options call for, such as the one gating a profile."""
    if len(request.suites) != 1:
        return None
    runner = runner_for(request.suites[0])
    if isinstance(runner, EnvironmentCheck):
        return runner.default_stage(request.root, request.options)
    return None


def mask_account_passwords(environment: Environment) -> None:
    SECRET_MASK.add(
        os.environ.get(account.password_env, "") for account in environment.accounts.values()
    )


def execute_run(request: RunRequest) -> ExitCode:
    """Run the requested suites against the environment and return the verdict's exit code."""
    plan = plan_run(request)
    run = RunFolder.create(
        request.reports, plan.environment.name, plan.stage, whole_stage=request.whole_stage
    )
    shard = request.options.shard
    if shard is not None:
        run.manifest.shard_index, run.manifest.shard_count = shard.index, shard.count
        run.save()
    run.subdir("logs")
    log_to_run_folder(run.path)
    suites = ", ".join(request.suites)
    log.info("run %s: suites %s on environment %s", run.run_id, suites, plan.environment.name)
    try:
        run_suites(request, plan, run)
    except KeyboardInterrupt:
        finish(run, RunStatus.INTERRUPTED, request.root)
        log.error("run %s interrupted; its gates fail until it is run again", run.run_id)
        return ExitCode.INTERRUPTED
    except HarnessError:
        finish(run, RunStatus.ERROR, request.root)
        raise
    finish(run, RunStatus.COMPLETED, request.root)
    if run.manifest.shard_count:
        return report_shard_run(run)
    report = evaluate_run(run, plan.gates, plan.stage)
    return report.verdict.exit_code


def report_shard_run(run: RunFolder) -> ExitCode:
    """Print a shard run's suite outcomes and return 1 when a suite failed or broke.

    A shard holds only part of the tests, so gates on totals (coverage, executed counts) would
    judge a fraction of the suite. No gate is evaluated here: `harness merge` combines the shards
    and evaluates the stage's gates on the whole. A shard without evidence exits 0 because the
    merge fails its suite's gates closed, naming the shard run.
    """
    manifest = run.manifest
    print(
        f"\nrun {manifest.run_id}  environment {manifest.environment}  "
        f"build {manifest.build_id or '-'}  stage {manifest.stage}  shard {manifest.shard_label}"
    )
    broken = []
    for name, record in sorted(manifest.suites.items()):
        print(f"suite {name}: {record.outcome} ({record.reason})")
        if record.outcome in (SuiteOutcome.FAILED, SuiteOutcome.ERROR):
            broken.append(name)
    print(f"\nshard {manifest.shard_label} is a partial run, so no gate is evaluated on it.")
    print("The stage verdict comes from harness merge over all shard runs of this build.")
    print(f"evidence: {run.path}")
    if broken:
        print(f"shard {manifest.shard_label}: tests failed or broke in {', '.join(broken)}")
        return ExitCode.FAILED
    return ExitCode.PASSED


def run_suites(request: RunRequest, plan: Plan, run: RunFolder) -> None:
    runners = [runner_for(suite) for suite in request.suites]
    with suite_target(runners, request, plan, run) as deployment:
        mask_account_passwords(plan.environment)
        manifest = run.manifest
        manifest.build_id, manifest.version = deployment.build_id, deployment.version
        manifest.target_url = deployment.base_url
        manifest.candidate = request.target.candidate
        run.save()
        log.info("target %s reports build %s", deployment.base_url or "-", deployment.build_id)
        context = RunContext(
            request.root, run, plan.environment, plan.environment_path, deployment, request.options
        )
        targeted = [runner for runner in runners if runner.needs_target]
        independent = [runner for runner in runners if not runner.needs_target]
        if targeted and independent:
            run_side_by_side(independent, targeted, context)
        else:
            for runner in runners:
                run_suite(runner, context)


def run_side_by_side(
    independent: list[Runner], targeted: list[Runner], context: RunContext
) -> None:
    """Run suites that test code in a thread beside the suites that test the target, in order.

    The two groups share no service, data or login limit, so only the cores are shared. An
    interrupt reaches the main thread; it stops the other thread's tools, and the suites that
    thread was running are recorded as interrupted.
    """
    interrupted = threading.Event()
    failures: list[BaseException] = []

    def lane() -> None:
        try:
            for runner in independent:
                if interrupted.is_set():
                    return
                run_suite(runner, context, interrupted)
        except BaseException as error:
            failures.append(error)

    thread = threading.Thread(target=lane, name="independent-suites", daemon=True)
    thread.start()
    try:
        for runner in targeted:
            run_suite(runner, context)
        wait_for(thread)
    except BaseException:
        interrupted.set()
        stop_running_children()
        thread.join()
        raise
    if failures:
        raise failures[0]


def wait_for(thread: threading.Thread) -> None:
    # A join with a timeout, repeated, keeps the main thread able to receive KeyboardInterrupt.
    while thread.is_alive():
        thread.join(JOIN_POLL_S)


def run_suite(
    runner: Runner, context: RunContext, interrupted: threading.Event | None = None
) -> None:
    """Run one suite and record its result; `interrupted` marks a stop from another thread."""
    run = context.run
    with run.lock:
        run.manifest.suites[runner.name] = SuiteRecord("running", started_at=utc_now())
        run.save()
    try:
        result = runner.run(context)
    except KeyboardInterrupt:
        record_suite(run, runner.name, SuiteResult(SuiteOutcome.INTERRUPTED, "interrupted"))
        raise
    if interrupted is not None and interrupted.is_set():
        result = SuiteResult(SuiteOutcome.INTERRUPTED, "interrupted while running", None)
    record_suite(run, runner.name, result)


def suite_target(
    runners: list[Runner], request: RunRequest, plan: Plan, run: RunFolder
) -> contextlib.AbstractContextManager[Deployment]:
    """Open the environment's target, or none when every suite tests code rather than a service."""
    if not any(runner.needs_target for runner in runners):
        return contextlib.nullcontext(untargeted_deployment(request.target))
    workdir = run.subdir("sut")
    return open_target(plan.environment, plan.environment_path, request.target, workdir)


def record_suite(run: RunFolder, suite: str, result: SuiteResult) -> None:
    if result.metrics:
        MetricStore(run).write(suite, result.metrics)
    with run.lock:
        record = run.manifest.suites.get(suite) or SuiteRecord("")
        record.outcome, record.reason = result.outcome.value, result.reason
        record.exit_code, record.finished_at = result.exit_code, utc_now()
        run.manifest.suites[suite] = record
        run.save()
    log.info("suite %s: %s (%s)", suite, result.outcome, result.reason)


def finish(run: RunFolder, status: RunStatus, root: Path) -> None:
    """Record how the run ended, and write its fingerprint for later baseline comparisons."""
    write_fingerprint(run, root)
    run.manifest.status = status
    run.manifest.finished_at = utc_now()
    run.save()


def evaluate_run(run: RunFolder, gates: GatesFile, stage: str) -> VerdictReport:
    """Evaluate the stage's gates, write and print the verdict.

    A stage run counts every gate of the stage; a suite run only the gates of its suites.
    """
    suites = None if run.manifest.whole_stage else set(run.manifest.suites)
    results = evaluate_stage(gates.stages[stage], run, suites, stage_name=stage)
    if suites is None:
        scope = f"stage {stage}"
    else:
        scope = f"stage {stage} for suites {', '.join(sorted(suites)) or '(none)'}"
    report = decide(results, scope)
    report.write(run.path, stage)
    write_merged_junit(run.path, stage, results)
    allure_dir = run.subdir("allure-results")
    write_environment_properties(allure_dir, run.manifest)
    write_executor(allure_dir, run.run_id, dict(os.environ))
    write_categories(allure_dir)
    write_gate_results(allure_dir, run.manifest, results)
    write_quarantine_results(allure_dir, run.manifest, run.path)
    append_job_summary(report, stage)
    print_report(run, report, stage)
    return report


def append_job_summary(report: VerdictReport, stage: str) -> None:
    """Add the verdict to the CI job summary when the CI system offers one (GitHub Actions)."""
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary:
        with open(summary, "a", encoding="utf-8") as stream:
            stream.write(report.markdown(stage))


def print_report(run: RunFolder, report: VerdictReport, stage: str) -> None:
    manifest = run.manifest
    print(
        f"\nrun {manifest.run_id}  environment {manifest.environment}  "
        f"build {manifest.build_id or '-'}  stage {stage}"
    )
    for name, record in sorted(manifest.suites.items()):
        print(f"suite {name}: {record.outcome} ({record.reason})")
    print()
    print(report.table())
    print(f"\nverdict {report.verdict}: {report.reason}")
    if manifest.candidate:
        switch = "may be switched to" if report.verdict is not Verdict.FAIL else "must stay off"
        print(f"blue-green: traffic {switch} the candidate {manifest.target_url}")
    print(f"evidence: {run.path}")
