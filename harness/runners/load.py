"""The load runner: Agent Chat users on a distributed Locust cluster, judged from its statistics.

The harness reads the master's result (harness.evidence.locust) and never Locust's exit code:
a run whose books do not balance over the workers is INVALID, its metrics are recorded unknown,
and every gate on them fails as NO_EVIDENCE.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from harness.config.environment import Environment
from harness.config.gates import load_gates
from harness.config.load_profile import PROFILE_DIR, LoadProfile, load_profile
from harness.errors import Problem, UsageError
from harness.evidence.junit import EvidenceError
from harness.evidence.load_charts import draw_charts
from harness.evidence.locust import read_result, summarize
from harness.logs import SECRET_MASK
from harness.reporting.allure import write_suite_result
from harness.runners.base import RunContext, SuiteOptions, SuiteOutcome, SuiteResult
from harness.runners.load_limits import LimitPlan, check_limits, raise_open_file_limit
from harness.runners.load_metrics import load_metrics, stats_document, unknown_metrics
from harness.runners.locust_cluster import ClusterSpec, LocustCluster
from harness.target import LOAD_SECRET_ENV, pick_free_port

__all__ = ["LoadRunner"]

log = logging.getLogger(__name__)

LOCUSTFILE = PROFILE_DIR / "locustfile.py"
DEFAULT_PROFILE = "smoke"
MAX_WORKERS = 64
# Requests per second across all workers when load is allowed on a sensitive environment.
SENSITIVE_MAX_RPS = 20
# Time for processes to start, workers to connect and rooms to be created, beyond the profile.
STARTUP_S = 120
WORKER_CONNECT_WAIT_S = 60
# Locust 2.x logs this line when --expect-workers-max-wait passes without enough workers.
GAVE_UP_ON_WORKERS = "Gave up waiting for workers to connect"
ABORTABLE = {"p50_ms", "p95_ms", "p99_ms", "error_rate", "delivery_p95_ms", "delivery_p99_ms"}


@dataclass(frozen=True)
class LoadPlan:
    """A checked load run: the profile, the workers and the rate cap."""

    profile: LoadProfile
    local_workers: int
    max_rps: int


class LoadRunner:
    """Runs suites/load/locustfile.py with a Locust master and local workers."""

    name = "load"
    needs_target = True

    def preflight(
        self, root: Path, options: SuiteOptions, environment: Environment, environment_path: Path
    ) -> None:
        if options.load.profile:
            load_profile(options.load.profile, root)
        if not 0 <= options.load.locust_workers <= MAX_WORKERS:
            count = options.load.locust_workers
            reason = f"--locust-workers {count} is out of range; use 1 to {MAX_WORKERS}"
            raise UsageError(Problem.BAD_ARGUMENT, {"reason": reason})
        if not 0 <= options.load.master_port <= 65535:
            reason = f"--master-port {options.load.master_port} is out of range; use 0 to 65535"
            raise UsageError(Problem.BAD_ARGUMENT, {"reason": reason})
        if options.load.remote_workers < 0:
            reason = f"--remote-workers {options.load.remote_workers} is negative; use 0 or more"
            raise UsageError(Problem.BAD_ARGUMENT, {"reason": reason})
        if not (root / LOCUSTFILE).is_file():
            reason = f"{root / LOCUSTFILE} not found; the load suite needs its locustfile"
            raise UsageError(Problem.BAD_ARGUMENT, {"reason": reason})

    def check_environment(
        self, root: Path, environment: Environment, stage: str, options: SuiteOptions
    ) -> None:
        """Reject load on a sensitive environment without consent, and profiles beyond limits."""
        if environment.sensitive and not options.load.allow_sensitive_load:
            raise UsageError(
                Problem.SENSITIVE_LOAD, {"name": environment.name, "max_rps": SENSITIVE_MAX_RPS}
            )
        if not environment.target.embedded and not os.environ.get(LOAD_SECRET_ENV):
            purpose = "password secret of the load-test users load00000.."
            raise UsageError(
                Problem.MISSING_SECRET,
                {
                    "variable": LOAD_SECRET_ENV,
                    "purpose": purpose,
                    "path": "the load suite",
                    "key": "-",
                },
            )
        plan = self.plan(root, environment, stage, options)
        limits = LimitPlan(
            plan.profile,
            plan.local_workers,
            options.load.remote_workers,
            environment.target.embedded,
        )
        check_limits(limits, raise_open_file_limit())

    def default_stage(self, root: Path, options: SuiteOptions) -> str | None:
        """Return the one stage whose gates are all on this profile's load metrics, if any."""
        if not options.load.profile:
            return None
        prefix = f"load.{options.load.profile}."
        stages = load_gates(root / "gates.toml").stages
        matching = [
            name
            for name, stage in sorted(stages.items())
            if stage.gates and all(gate.metric.startswith(prefix) for gate in stage.gates)
        ]
        return matching[0] if len(matching) == 1 else None

    def plan(
        self, root: Path, environment: Environment, stage: str, options: SuiteOptions
    ) -> LoadPlan:
        profile = load_profile(resolve_profile(root, stage, options.load.profile), root)
        workers = options.load.locust_workers or os.cpu_count() or 1
        max_rps = SENSITIVE_MAX_RPS if environment.sensitive else 0
        return LoadPlan(profile, workers, max_rps)

    def run(self, context: RunContext) -> SuiteResult:
        stage = context.run.manifest.stage
        plan = self.plan(context.root, context.environment, stage, context.options)
        SECRET_MASK.add([os.environ.get(LOAD_SECRET_ENV, "")])
        if plan.max_rps:
            log.warning(
                "environment %s is sensitive: load allowed by --allow-sensitive-load, "
                "capped at %d requests per second",
                context.environment.name,
                plan.max_rps,
            )
        load_dir = context.run.subdir("load")
        spec = self.cluster_spec(context, plan, stage, load_dir)
        log.info(
            "load profile %s: %d users at %g/s, held %g s, on %d local workers",
            plan.profile.name,
            plan.profile.users,
            plan.profile.spawn_rate,
            plan.profile.hold_s,
            plan.local_workers,
        )
        exit_code = LocustCluster(spec).run()
        return self.result(context, plan.profile, exit_code, load_dir)

    def cluster_spec(
        self, context: RunContext, plan: LoadPlan, stage: str, load_dir: Path
    ) -> ClusterSpec:
        options = context.options.load
        locustfile = str(context.root / LOCUSTFILE)
        port = options.master_port or pick_free_port(options.master_host)
        expected = plan.local_workers + options.remote_workers
        master = [sys.executable, "-m", "locust", "-f", locustfile, "--master", "--headless"]
        master += ["--master-bind-host", options.master_host, "--master-bind-port", str(port)]
        master += ["--expect-workers", str(expected)]
        master += ["--expect-workers-max-wait", str(WORKER_CONNECT_WAIT_S)]
        master += ["--host", context.deployment.base_url, "--only-summary"]
        master += ["--csv", str(load_dir / "locust"), "--csv-full-history"]
        master += ["--html", str(load_dir / "locust-report.html")]
        master += model_arguments(plan, context.deployment.realtime_url, load_dir)
        master += ["--chat-abort", json.dumps(abort_rules(context.root, stage, plan.profile))]
        # Workers on this machine reach a master bound to every interface through loopback.
        wildcard = options.master_host in ("0.0.0.0", "::")  # noqa: S104
        connect = "127.0.0.1" if wildcard else options.master_host
        worker = [sys.executable, "-m", "locust", "-f", locustfile, "--worker"]
        worker += ["--master-host", connect, "--master-port", str(port)]
        timeout_s = min(context.options.timeout_s, plan.profile.max_run_s + STARTUP_S)
        return ClusterSpec(
            master=master,
            worker=worker,
            local_workers=plan.local_workers,
            cwd=context.root,
            env=dict(os.environ, PYTHONUNBUFFERED="1"),
            logs=context.run.subdir("logs"),
            timeout_s=timeout_s,
            history_csv=load_dir / "locust_stats_history.csv",
            usage_json=load_dir / "generator-usage.json",
        )

    def result(
        self, context: RunContext, profile: LoadProfile, exit_code: int, load_dir: Path
    ) -> SuiteResult:
        evidence = load_dir / "result.json"
        history = load_dir / "locust_stats_history.csv"
        try:
            summary = summarize(read_result(evidence), history)
        except (EvidenceError, KeyError, TypeError, ValueError) as error:
            outcome, reason = missing_result(error, exit_code, context.run.path / "logs")
            metrics = unknown_metrics(context, profile.name, evidence, reason)
            return SuiteResult(outcome, reason, exit_code, metrics)

        stats_json = load_dir / "stats.json"
        stats_json.write_text(json.dumps(stats_document(summary), indent=2) + "\n", "utf-8")
        charts = self.charts(history, load_dir)
        outcome, reason = classify_load(summary.problems, summary.aborted, summary.http.requests)
        unknown = "" if outcome in (SuiteOutcome.PASSED, SuiteOutcome.FAILED) else reason
        metrics = load_metrics(context, profile.name, evidence, summary, unknown)
        attachments = [("latency over time", charts, "image/png")] if charts else []
        attachments += [("final stats per endpoint", stats_json, "application/json")]
        attachments += [("locust stats", load_dir / "locust_stats.csv", "text/csv")]
        allure_status = "passed" if outcome is SuiteOutcome.PASSED else "failed"
        write_suite_result(
            context.run.subdir("allure-results"),
            context.run.manifest,
            f"load {profile.name}",
            allure_status,
            reason,
            attachments,
        )
        return SuiteResult(outcome, reason, exit_code, metrics)

    def charts(self, history: Path, load_dir: Path) -> Path | None:
        try:
            return draw_charts(history, load_dir / "charts.png")
        except (OSError, ValueError, KeyError) as error:
            log.warning("could not draw the load charts from %s: %s", history.name, error)
            return None


def missing_result(error: Exception, exit_code: int, logs: Path) -> tuple[SuiteOutcome, str]:
    """Explain a run without a readable result, naming missing workers when that was the cause."""
    master_log = logs / "locust-master.log"
    text = master_log.read_text(errors="replace") if master_log.is_file() else ""
    if GAVE_UP_ON_WORKERS in text:
        reason = (
            f"INVALID: fewer workers than expected connected to the master within "
            f"{WORKER_CONNECT_WAIT_S} s, so no user started"
        )
        return SuiteOutcome.ERROR, reason
    reason = f"no trustworthy load result: {error} (locust master exit code {exit_code})"
    return SuiteOutcome.NO_EVIDENCE, reason


def classify_load(
    problems: list[str], aborted: str, http_requests: int
) -> tuple[SuiteOutcome, str]:
    """Decide the load suite's outcome from the result's accounting, before any gate."""
    if problems:
        shown = "; ".join(problems[:3])
        more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
        return SuiteOutcome.ERROR, f"INVALID: {shown}{more}"
    if http_requests == 0:
        return SuiteOutcome.NO_EVIDENCE, "no HTTP request was recorded"
    if aborted:
        return SuiteOutcome.FAILED, f"aborted early: {aborted}"
    return SuiteOutcome.PASSED, "the profile ran to its end and every worker's totals balance"


def model_arguments(plan: LoadPlan, realtime_url: str, load_dir: Path) -> list[str]:
    profile = plan.profile
    return [
        "--chat-users", str(profile.users),
        "--chat-spawn-rate", str(profile.spawn_rate),
        "--chat-hold-s", str(profile.hold_s),
        "--chat-think-min-s", str(profile.think_time_min_s),
        "--chat-think-max-s", str(profile.think_time_max_s),
        "--chat-room-size", str(profile.room_size),
        "--chat-history-limit", str(profile.history_limit),
        "--chat-max-rps", str(plan.max_rps),
        "--chat-realtime-url", realtime_url,
        "--chat-result", str(load_dir / "result.json"),
    ]  # fmt: skip


def gate_profiles(root: Path, stage: str) -> set[str]:
    gates = load_gates(root / "gates.toml").stages.get(stage)
    metrics = [gate.metric for gate in gates.gates] if gates else []
    return {name.split(".")[1] for name in metrics if name.startswith("load.")}


def resolve_profile(root: Path, stage: str, requested: str) -> str:
    """Return the requested profile, or the one the stage's gates name, or smoke.

    A profile the stage's gates do not name would leave them all without evidence, so it is
    rejected with the profile to pass instead.
    """
    named = gate_profiles(root, stage)
    if not requested:
        return named.pop() if len(named) == 1 else DEFAULT_PROFILE
    if named and requested not in named:
        reason = (
            f"stage {stage} gates load profile {', '.join(sorted(named))}, not {requested}; "
            f"pass --profile {sorted(named)[0]}, or a --stage whose gates name {requested}"
        )
        raise UsageError(Problem.BAD_ARGUMENT, {"reason": reason})
    return requested


def abort_rules(root: Path, stage: str, profile: LoadProfile) -> list[dict[str, object]]:
    """Turn the stage's gates that have abort_after_s into rules the Locust master checks live."""
    gates = load_gates(root / "gates.toml").stages.get(stage)
    prefix = f"load.{profile.name}."
    rules: list[dict[str, object]] = []
    for gate in gates.gates if gates else []:
        statistic = gate.metric.removeprefix(prefix)
        if gate.abort_after_s is None or gate.comparison is None:
            continue
        if not gate.metric.startswith(prefix):
            continue
        if statistic not in ABORTABLE:
            continue
        rules.append(
            {
                "gate": gate.name,
                "statistic": statistic,
                "label": gate.labels.get("name", ""),
                "comparison": gate.comparison.value,
                "threshold": float(gate.threshold_value()),
                "window_s": gate.abort_after_s,
            }
        )
    return rules
