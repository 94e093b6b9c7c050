"""Production verification: rollout of a build across instances, and an uptime probe.

Both send only GET requests, so they are safe on a sensitive environment. Each loop is bounded by
a deadline and a maximum number of checks, and stops by itself.
"""

from __future__ import annotations

import json
import logging
import math
import os
import time
from fractions import Fraction
from pathlib import Path

import httpx

from harness.config.environment import Environment
from harness.errors import Problem, UsageError
from harness.runners.base import RunContext, SuiteOptions, SuiteOutcome, SuiteResult, metric_from
from harness.runs import write_json_atomically

__all__ = ["DeployRunner", "ProbeRunner"]

log = logging.getLogger(__name__)

MAX_PROBE_CHECKS = 100_000
PROBE_PATHS = ("/healthz", "/version", "/")


def instances(context: RunContext) -> list[str]:
    """Return the URLs of every instance, or the target's own URL when none are configured."""
    variable = context.environment.target.instances_env
    if variable is None:
        return [context.deployment.base_url]
    raw = os.environ.get(variable, "")
    urls = [url.strip().rstrip("/") for url in raw.split(",") if url.strip()]
    if not urls:
        reason = (
            f"environment variable {variable} (instance URLs) is empty; list them, comma-separated"
        )
        raise UsageError(Problem.BAD_ARGUMENT, {"reason": reason})
    return urls


def build_of(url: str, timeout_s: float) -> str:
    try:
        return str(httpx.get(f"{url}/version", timeout=timeout_s).json()["build"])
    except (httpx.HTTPError, ValueError, KeyError) as error:
        return f"unreachable ({type(error).__name__})"


def milliseconds(seconds: float) -> Fraction:
    """Round a duration up to whole milliseconds, so a rounded figure never looks better."""
    return Fraction(math.ceil(seconds * 1000))


class DeployRunner:
    """Polls /version on every instance until all report the expected build or time runs out."""

    name = "deploy"
    needs_target = True

    def preflight(
        self, root: Path, options: SuiteOptions, environment: Environment, environment_path: Path
    ) -> None:
        if not options.production.expect_build:
            reason = "verify-deploy needs --expect-build BUILD_ID"
            raise UsageError(Problem.BAD_ARGUMENT, {"reason": reason})

    def run(self, context: RunContext) -> SuiteResult:
        urls = instances(context)
        expected = context.options.production.expect_build
        timeout_s = context.environment.target.request_timeout_s
        started = time.monotonic()
        deadline = started + context.options.production.duration_s
        builds = {url: build_of(url, timeout_s) for url in urls}
        while any(build != expected for build in builds.values()) and time.monotonic() < deadline:
            time.sleep(context.options.production.interval_s)
            builds = {url: build_of(url, timeout_s) for url in urls}
        return self.result(context, builds, expected, time.monotonic() - started)

    def result(
        self, context: RunContext, builds: dict[str, str], expected: str, elapsed_s: float
    ) -> SuiteResult:
        lagging = sorted(url for url, build in builds.items() if build != expected)
        evidence = context.run.subdir("deploy") / "rollout.json"
        rollout = {
            "expected_build": expected,
            "builds": builds,
            "lagging": lagging,
            "elapsed_s": round(elapsed_s, 3),
        }
        write_json_atomically(evidence, rollout)
        counts = {
            "deploy.instances": len(builds),
            "deploy.instances_on_build": len(builds) - len(lagging),
        }
        metrics = metric_from(context, self.name, evidence, counts)
        if lagging:
            reason = f"still not on {expected} after {elapsed_s:.0f} s: {', '.join(lagging)}"
            metrics += metric_from(context, self.name, evidence, {"deploy.rollout_ms": 0}, reason)
            return SuiteResult(SuiteOutcome.FAILED, reason, None, metrics)
        rollout_ms = {"deploy.rollout_ms": milliseconds(elapsed_s)}
        metrics += metric_from(context, self.name, evidence, rollout_ms)
        reason = f"all {len(builds)} instances on {expected} after {elapsed_s:.1f} s"
        return SuiteResult(SuiteOutcome.PASSED, reason, None, metrics)


class ProbeRunner:
    """Runs the read-only checks every interval for a duration and measures availability."""

    name = "probe"
    needs_target = True

    def preflight(
        self, root: Path, options: SuiteOptions, environment: Environment, environment_path: Path
    ) -> None:
        checks = options.production.duration_s / options.production.interval_s
        if (
            options.production.interval_s <= 0
            or options.production.duration_s <= 0
            or checks > MAX_PROBE_CHECKS
        ):
            reason = (
                f"--interval and --duration must be positive and allow at most "
                f"{MAX_PROBE_CHECKS} rounds of checks"
            )
            raise UsageError(Problem.BAD_ARGUMENT, {"reason": reason})

    def run(self, context: RunContext) -> SuiteResult:
        evidence = context.run.subdir("probe") / "checks.jsonl"
        urls = instances(context)
        deadline = time.monotonic() + context.options.production.duration_s
        rounds = 0
        with evidence.open("w", encoding="utf-8") as stream:
            while (
                rounds == 0 or time.monotonic() + context.options.production.interval_s <= deadline
            ):
                if rounds:
                    time.sleep(context.options.production.interval_s)
                for url in urls:
                    for path in PROBE_PATHS:
                        stream.write(json.dumps(check(url, path, context)) + "\n")
                rounds += 1
        return self.result(context, evidence)

    def result(self, context: RunContext, evidence: Path) -> SuiteResult:
        checks = [json.loads(line) for line in evidence.read_text(encoding="utf-8").splitlines()]
        passed = sum(1 for entry in checks if entry["ok"])
        latencies = sorted(entry["elapsed_ms"] for entry in checks)
        p95_ms = latencies[max(0, math.ceil(0.95 * len(latencies)) - 1)]
        values: dict[str, int | Fraction] = {
            "probe.checks": len(checks),
            "probe.failed": len(checks) - passed,
            "probe.availability": Fraction(passed, len(checks)),
            "probe.p95_ms": Fraction(p95_ms),
        }
        metrics = metric_from(context, self.name, evidence, values)
        reason = f"{passed} of {len(checks)} checks passed"
        outcome = SuiteOutcome.PASSED if passed == len(checks) else SuiteOutcome.FAILED
        return SuiteResult(outcome, reason, None, metrics)


def check(url: str, path: str, context: RunContext) -> dict[str, object]:
    """GET one path; a check passes on HTTP 200 within the environment's request timeout."""
    started = time.monotonic()
    try:
        status = httpx.get(
            f"{url}{path}", timeout=context.environment.target.request_timeout_s
        ).status_code
    except httpx.HTTPError as error:
        log.warning("probe of %s%s failed: %s", url, path, error)
        status = 0
    elapsed_ms = math.ceil((time.monotonic() - started) * 1000)
    return {"url": f"{url}{path}", "status": status, "ok": status == 200, "elapsed_ms": elapsed_ms}
