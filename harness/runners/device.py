"""The device runner: suites/device through Appium on a matrix of device profiles.

Profiles run in parallel, one pytest-xdist group per profile, and each test opens its own Appium
session. Every session is recorded as clean or crashed; the crash-free rate is clean sessions
over all sessions, and is unknown when no session started.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sys
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import httpx

from harness.config.environment import Environment
from harness.devices.appium_server import list_sessions, open_appium
from harness.devices.plan import PLAN_VARIABLE, DevicePlan
from harness.devices.preflight import check_device_selection
from harness.devices.profiles import DeviceProfile
from harness.devices.records import SessionEnd, SessionRecord, read_records
from harness.evidence.junit import EvidenceError, parse_junit
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

__all__ = ["DeviceRunner", "device_plan_environment"]

log = logging.getLogger(__name__)

SUITE_DIR = "suites/device"
DEFAULT_SET = "local"
MAX_WORKERS = 2


@contextlib.contextmanager
def device_plan_environment(
    context: RunContext, profiles: list[DeviceProfile], sessions_dir: Path | None
) -> Iterator[dict[str, str]]:
    """Open the environment's Appium server and yield the variables that name the plan file.

    On exit, sessions the suite left on a local server are logged, deleted and written to
    device/leaked-sessions.json, before the server stops.
    """
    folder = context.run.subdir("device")
    logs = context.run.subdir("logs")
    with open_appium(context.environment, context.root, logs) as endpoint:
        plan = DevicePlan(endpoint, str(context.root), profiles, str(sessions_dir or ""))
        path = plan.write(folder / "plan.json")
        try:
            yield {PLAN_VARIABLE: str(path)}
        finally:
            if endpoint.local:
                record_leaked_sessions(endpoint.url, folder / "leaked-sessions.json")


def record_leaked_sessions(url: str, path: Path) -> None:
    try:
        leaked = list_sessions(url)
    except httpx.HTTPError as error:
        log.error("listing the Appium sessions failed: %s", error)
        return
    path.write_text(json.dumps({"sessions": leaked}) + "\n", encoding="utf-8")
    for session_id in leaked:
        log.error("session %s was left on the Appium server; deleting it", session_id)
        with contextlib.suppress(httpx.HTTPError):
            httpx.delete(f"{url}/session/{session_id}", timeout=30.0)


class DeviceRunner:
    """Runs suites/device with pytest, pytest-xdist and allure-pytest against Appium."""

    name = "device"
    needs_target = True

    def preflight(
        self, root: Path, options: SuiteOptions, environment: Environment, environment_path: Path
    ) -> None:
        check_device_selection(root, options.devices, DEFAULT_SET, options.environment)

    def run(self, context: RunContext) -> SuiteResult:
        options = context.options
        profiles = check_device_selection(
            context.root, options.devices, DEFAULT_SET, options.environment
        )
        junit = context.run.subdir("junit") / "device.xml"
        sessions_dir = context.run.subdir("device") / "sessions"
        sessions_dir.mkdir(exist_ok=True)
        env = dict(os.environ, HARNESS_TARGET_FILE=str(write_target_file(context)))
        with device_plan_environment(context, profiles, sessions_dir) as plan_env:
            exit_code = run_logged(
                self.command(context, junit, len(profiles)),
                cwd=context.root,
                env=env | plan_env,
                output=context.run.subdir("logs") / "device.log",
                timeout_s=options.timeout_s,
            )
        return self.result(context, exit_code, junit, sessions_dir)

    def command(self, context: RunContext, junit: Path, profile_count: int) -> list[str]:
        command = [sys.executable, "-m", "pytest", SUITE_DIR]
        # allure-pytest-bdd also defines --alluredir; the device suite has no Gherkin.
        command += ["-p", "no:allure_pytest_bdd", "-p", "no:cacheprovider", *NO_LOCUST_PLUGIN]
        command += [f"--alluredir={context.run.path / 'allure-results'}", f"--junitxml={junit}"]
        command += ["-o", "junit_family=xunit2", "-o", "junit_suite_name=device"]
        workers = min(profile_count, MAX_WORKERS)
        if workers > 1:
            # loadgroup keeps the tests of one profile on one worker, so profiles run side by
            # side while each profile's sessions follow one another.
            command += ["-n", str(workers), "--dist", "loadgroup"]
        if context.options.select:
            command += ["-k", context.options.select]
        return command

    def result(
        self, context: RunContext, exit_code: int, junit: Path, sessions_dir: Path
    ) -> SuiteResult:
        session_metrics = self.session_metrics(context, sessions_dir)
        try:
            counts = parse_junit(junit)
        except EvidenceError as error:
            outcome, reason = classify_pytest(exit_code, error)
            tests = metric_from(context, self.name, junit, device_test_values(0, 0, 0, 0), reason)
            return SuiteResult(outcome, reason, exit_code, tests + session_metrics)
        outcome, reason = classify_pytest(exit_code, counts)
        values = device_test_values(
            counts.total, counts.passed, counts.failed + counts.errors, counts.skipped
        )
        unknown = "" if outcome in (SuiteOutcome.PASSED, SuiteOutcome.FAILED) else reason
        tests = metric_from(context, self.name, junit, values, unknown)
        return SuiteResult(outcome, reason, exit_code, tests + session_metrics)

    def session_metrics(self, context: RunContext, sessions_dir: Path) -> list[Metric]:
        """Merge the session records into device/sessions.json and measure crashes from it."""
        evidence = context.run.path / "device" / "sessions.json"
        try:
            records = read_records(sessions_dir)
        except (OSError, ValueError, KeyError, TypeError) as error:
            reason = f"session records in {sessions_dir} are unreadable: {error}"
            return metric_from(context, self.name, evidence, session_values([]), reason)
        leaked = read_leaked(context.run.path / "device" / "leaked-sessions.json")
        write_sessions_file(evidence, records, leaked)
        metrics = metric_from(context, self.name, evidence, session_values(records))
        if leaked is None:
            reason = "the Appium server's session list was not read (a grid, or it failed)"
            metrics += metric_from(
                context, self.name, evidence, {"device.sessions.leaked": 0}, reason
            )
        else:
            metrics += metric_from(
                context, self.name, evidence, {"device.sessions.leaked": len(leaked)}
            )
        if not records:
            reason = "no device session started, so no crash-free rate"
            metrics += metric_from(
                context, self.name, evidence, {"device.crash_free_rate": 0}, reason
            )
        else:
            metrics += metric_from(
                context, self.name, evidence, {"device.crash_free_rate": crash_free_rate(records)}
            )
        # One rate per device profile, so a gate can hold one device to its own threshold with
        # labels = { device = "chromium-pixel" }.
        for profile in sorted({record.profile for record in records}):
            mine = [record for record in records if record.profile == profile]
            rate = {"device.crash_free_rate": crash_free_rate(mine)}
            metrics += metric_from(context, self.name, evidence, rate, labels={"device": profile})
        return metrics


def crash_free_rate(records: list[SessionRecord]) -> Fraction:
    clean = sum(1 for record in records if record.end is SessionEnd.CLEAN)
    return Fraction(clean, len(records))


def session_values(records: list[SessionRecord]) -> dict[str, int]:
    crashed = sum(1 for record in records if record.end is SessionEnd.CRASHED)
    return {"device.sessions": len(records), "device.sessions.crashed": crashed}


def read_leaked(path: Path) -> list[str] | None:
    if not path.is_file():
        return None
    leaked: list[str] = json.loads(path.read_text(encoding="utf-8"))["sessions"]
    return leaked


def write_sessions_file(path: Path, records: list[SessionRecord], leaked: list[str] | None) -> None:
    data = {
        "sessions": [record.__dict__ for record in records],
        "leaked": leaked,
    }
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")


def device_test_values(total: int, passed: int, failed: int, skipped: int) -> dict[str, int]:
    return {
        "device.tests.total": total,
        "device.tests.executed": passed + failed,
        "device.tests.passed": passed,
        "device.tests.failed": failed,
        "device.tests.skipped": skipped,
    }
