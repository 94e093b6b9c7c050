"""The comparability fingerprint of a run: what must match before two builds' metrics compare.

A run writes fingerprint.json when it finishes: the environment, the tool versions, the hash of
each load profile that ran, and per suite the set of test ids from its JUnit evidence. A baseline
gate compares a build with the last promoted one only when their fingerprints agree. Otherwise a
change in the tests or the tools, not in the product, could explain the difference.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import platform
from pathlib import Path

from harness import __version__
from harness.config.load_profile import PROFILE_DIR
from harness.evidence.junit import EvidenceError, case_outcomes
from harness.metrics import MetricStore, file_sha256
from harness.runs import RunFolder, write_json_atomically

__all__ = [
    "FINGERPRINT_NAME",
    "FingerprintError",
    "fingerprint_differences",
    "read_fingerprint",
    "tool_versions",
    "write_fingerprint",
]

FINGERPRINT_NAME = "fingerprint.json"
TOOLS = [
    "pytest",
    "pytest-bdd",
    "pytest-xdist",
    "allure-pytest",
    "allure-pytest-bdd",
    "coverage",
    "schemathesis",
    "bandit",
    "playwright",
    "locust",
    "Appium-Python-Client",
]
# The tools each suite runs. A baseline gate compares only these, with Python and the harness, so
# a package that one nox session installs and another does not cannot make two runs incomparable.
SUITE_TOOLS = {
    "uat": {"pytest", "pytest-bdd", "allure-pytest-bdd", "playwright"},
    "unit": {"pytest", "pytest-xdist", "coverage", "allure-pytest"},
    "e2e": {"pytest", "playwright", "allure-pytest"},
    "device": {"pytest", "allure-pytest", "Appium-Python-Client"},
    "contract": {"schemathesis"},
    "security": {"bandit"},
    "load": {"locust"},
}
ALWAYS_COMPARED = {"python", "harness"}
# JUnit XML paths, relative to the run folder, of the suites whose runner writes no
# junit/<suite>.xml.
JUNIT_PATHS = {"contract": "contract/schemathesis.xml"}
# A suite that writes no JUnit XML has no test set; its fingerprint entry records why.
NO_JUNIT_SUITES = {"load", "security", "deploy", "probe"}
# Test ids shown in a difference, so a message stays one readable line.
MAX_IDS_SHOWN = 2

Fingerprint = dict[str, object]


class FingerprintError(Exception):
    """A fingerprint file is missing or cannot be parsed."""


def tool_versions() -> dict[str, str]:
    """Return the versions of Python, the harness and every suite tool that is installed."""
    versions = {"python": platform.python_version(), "harness": __version__}
    for name in TOOLS:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return versions


def write_fingerprint(run: RunFolder, root: Path) -> Path:
    """Write fingerprint.json into the run folder from the run's evidence and the project."""
    path = run.path / FINGERPRINT_NAME
    write_json_atomically(path, build_fingerprint(run, root))
    return path


def build_fingerprint(run: RunFolder, root: Path) -> Fingerprint:
    return {
        "environment": run.manifest.environment,
        "tool_versions": tool_versions(),
        "load_profiles": load_profile_hashes(run, root),
        "suites": {suite: suite_tests(run.path, suite) for suite in sorted(run.manifest.suites)},
    }


def load_profile_hashes(run: RunFolder, root: Path) -> dict[str, str | None]:
    """Map each load profile the run measured (load.<profile>.*) to its file's sha256.

    A profile whose file is gone maps to None, which never matches a baseline.
    """
    metrics, _ = MetricStore(run).read_all()
    names = {metric.name.split(".")[1] for metric in metrics.values() if metric.suite == "load"}
    hashes: dict[str, str | None] = {}
    for name in sorted(names):
        path = root / PROFILE_DIR / f"{name}.toml"
        hashes[name] = file_sha256(path) if path.is_file() else None
    return hashes


def suite_tests(run_path: Path, suite: str) -> dict[str, object]:
    """Describe a suite's test set: the sorted test ids, their count and a hash over them."""
    if suite in NO_JUNIT_SUITES:
        return {"tests": None, "unknown_reason": f"suite {suite} writes no JUnit XML"}
    relative = JUNIT_PATHS.get(suite, f"junit/{suite}.xml")
    try:
        ids = sorted(case_outcomes(run_path / relative))
    except EvidenceError as error:
        return {"tests": None, "unknown_reason": str(error)}
    digest = hashlib.sha256("\n".join(ids).encode()).hexdigest()
    return {"evidence": relative, "count": len(ids), "sha256": digest, "tests": ids}


def read_fingerprint(run_path: Path) -> Fingerprint:
    """Read a run's fingerprint.json; raise FingerprintError naming what is wrong."""
    path = run_path / FINGERPRINT_NAME
    if not path.is_file():
        raise FingerprintError(f"{FINGERPRINT_NAME} of run {run_path.name} is missing")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise FingerprintError(f"{FINGERPRINT_NAME} is unreadable: {error}") from None
    if not isinstance(data, dict):
        raise FingerprintError(f"{FINGERPRINT_NAME} is not a JSON object")
    return data


def fingerprint_differences(
    current: Fingerprint, baseline: Fingerprint, suite: str, baseline_build: str
) -> list[str]:
    """List every reason the suite's metrics of the two runs do not compare; empty if they do.

    The environment, Python and the harness are compared for every suite; of the other tools
    only those `suite` runs (SUITE_TOOLS). The test set is compared for `suite`, and the load
    profiles only when `suite` is load.
    """
    differences = []
    if current.get("environment") != baseline.get("environment"):
        differences.append(
            f"environment differs: {baseline.get('environment')} -> {current.get('environment')}"
        )
    compared = ALWAYS_COMPARED | SUITE_TOOLS.get(suite, set())
    tools = tool_differences(
        as_dict(baseline.get("tool_versions")), as_dict(current.get("tool_versions")), compared
    )
    if tools:
        differences.append(f"tool versions differ: {', '.join(tools)}")
    if suite == "load":
        differences += profile_differences(current, baseline, baseline_build)
    else:
        differences += test_set_differences(current, baseline, suite, baseline_build)
    return differences


def as_dict(value: object) -> dict[str, object]:
    return value if isinstance(value, dict) else {}


def tool_differences(
    baseline: dict[str, object], current: dict[str, object], compared: set[str]
) -> list[str]:
    changes = []
    for name in sorted((set(baseline) | set(current)) & compared):
        before, after = baseline.get(name, "none"), current.get(name, "none")
        if before != after:
            changes.append(f"{name} {before} -> {after}")
    return changes


def profile_differences(current: Fingerprint, baseline: Fingerprint, build: str) -> list[str]:
    ours, theirs = as_dict(current.get("load_profiles")), as_dict(baseline.get("load_profiles"))
    differences = []
    for name, digest in sorted(ours.items()):
        if name not in theirs:
            differences.append(f"load profile {name} did not run in baseline build {build}")
        elif digest is None or digest != theirs[name]:
            differences.append(f"load profile {name} changed since baseline build {build}")
    return differences


def test_set_differences(
    current: Fingerprint, baseline: Fingerprint, suite: str, build: str
) -> list[str]:
    if suite in NO_JUNIT_SUITES:
        return []
    ours = as_dict(as_dict(current.get("suites")).get(suite))
    theirs = as_dict(as_dict(baseline.get("suites")).get(suite))
    our_tests, their_tests = ours.get("tests"), theirs.get("tests")
    if not isinstance(their_tests, list):
        reason = theirs.get("unknown_reason", "the suite did not run")
        return [f"test set of {suite} unknown in baseline build {build}: {reason}"]
    if not isinstance(our_tests, list):
        reason = ours.get("unknown_reason", "the suite did not run")
        return [f"test set of {suite} unknown in this run: {reason}"]
    added = sorted(set(map(str, our_tests)) - set(map(str, their_tests)))
    removed = sorted(set(map(str, their_tests)) - set(map(str, our_tests)))
    if not added and not removed:
        return []
    examples = ", ".join([*added, *removed][:MAX_IDS_SHOWN])
    return [
        f"test set of {suite} differs from baseline build {build}: "
        f"{len(added)} added, {len(removed)} removed (for example {examples})"
    ]
