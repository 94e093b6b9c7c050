"""Errors a user can fix, kept apart from the advice text that explains how.

Each error carries a `Problem` and the values involved. `message()` renders one line that names
the file, key or value and the fix, which the CLI prints before it exits with code 2.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

__all__ = ["HarnessError", "Problem", "UsageError"]


class Problem(enum.Enum):
    """The kind of user error, independent of its wording."""

    UNKNOWN_ENVIRONMENT = "unknown environment {name!r}: no file {path}; choose one of: {choices}"
    UNREADABLE_FILE = "{path}: cannot be read ({reason}); check that the file exists"
    MALFORMED_TOML = "{path}: invalid TOML: {reason}; fix the syntax at that position"
    INVALID_VALUE = "{path}: key {key}: {reason}; fix the value in that file"
    # A message template, not a password.
    MISSING_SECRET = "environment variable {variable} is not set ({purpose}, from {path} key {key}); export it before the run"  # noqa: E501, S105
    UNREACHABLE_TARGET = "target {url} is unreachable: {reason}; {advice}"
    BUILD_MISMATCH = (
        "target {url} reports build {actual} but --build {expected} was requested; "
        "deploy {expected} there or drop --build"
    )
    PORT_IN_USE = "port {port} on {host} is already in use; {advice}"
    SERVICE_FAILED = "the embedded Agent Chat service failed to start: {reason}"
    SCENARIO_SYNTAX = "{path}:{line}: invalid Gherkin: {reason}; fix the scenario file"
    UNKNOWN_STAGE = "unknown stage {name!r} in {path}; choose one of: {choices}"
    UNKNOWN_SUITE = "unknown suite {name!r}; choose one of: {choices}"
    UNKNOWN_CHANNEL = "unknown channel {name!r}; choose one of: {choices}"
    BROWSER_UNAVAILABLE = "{what} cannot run: {reason}"
    UNKNOWN_DEVICE = "unknown device profile or set {name!r} in {path}; choose one of: {choices}"
    APPIUM_FAILED = "the Appium server failed: {reason}"
    DEVICE_UNAVAILABLE = "device profile {name!r} needs the {driver} driver, {reason}; {advice}"
    UNKNOWN_PROFILE = "unknown load profile {name!r}: no file {path}; choose one of: {choices}"
    SENSITIVE_LOAD = (
        "environment {name} is sensitive, so load against it is rejected; "
        "pass --allow-sensitive-load to run it capped at {max_rps} requests per second"
    )
    LOAD_LIMIT = "{profile} needs {needed} {resource} but {limit}; {advice}"
    RUN_NOT_FOUND = "run {run_id!r} not found under {root}; list runs with: ls {root}"
    MISSING_TOOL = "{tool} is not installed; install it with: {fix}"
    MISSING_DEVICE_TOOL = "{tool} is missing: {reason}; install it with: {command}"
    BAD_ARGUMENT = "{reason}; see harness --help"
    ALREADY_PROMOTED = "{path} exists: this run was already promoted to that stage"
    SHARD_MISMATCH = (
        "run {run_id} cannot be merged: its {field} is {actual!r} but run {first_id} has "
        "{expected!r}; merge only shard runs of one build, environment, stage, suites and count"
    )
    SHARD_RUN_PROMOTED = (
        "run {run_id} is shard {shard} of its suites, a partial run that cannot be promoted; "
        "combine its shards with harness merge and promote the merged run"
    )
    NOT_A_SHARD_RUN = (
        "run {run_id} is not a shard run, so there is nothing to merge; pass runs of "
        "harness run SUITE --shard INDEX/COUNT"
    )
    UNREADABLE_RECORD = "{path}: not a promotion record ({reason}); pass a promotion-*.json file"


@dataclass
class HarnessError(Exception):
    """An error the user can fix; rendered as one line by the CLI."""

    problem: Problem
    values: dict[str, object] = field(default_factory=dict)

    def message(self) -> str:
        return self.problem.value.format(**self.values)

    def __str__(self) -> str:
        return self.message()


class UsageError(HarnessError):
    """Bad input: a flag, a configuration file, a missing secret or an unusable target."""
