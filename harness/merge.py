"""`harness merge`: combine the shard runs of a suite into one new run and gate it.

The shard runs must share build id, environment, stage, suites and shard count; anything else is
rejected before the merged run is created. Per suite, the merged run contains one JUnit report with
one verdict per test id, the Allure results of every shard and, for the unit suite, coverage data
combined from the shards' data files. Its metrics come from the runners' own `result` methods, so
a merged run is measured exactly like an unsharded one. A shard that is missing, interrupted or
broken makes its suite NO_EVIDENCE with a reason that names the shard or the run.
"""

from __future__ import annotations

import json
import logging
import shutil
import xml.etree.ElementTree as ElementTree
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from harness.config.environment import load_environment
from harness.config.gates import load_gates
from harness.errors import HarnessError, Problem, UsageError
from harness.evidence.junit import EvidenceError, read_root
from harness.evidence.junit_merge import combine_reports, write_report
from harness.logs import log_to_run_folder
from harness.metrics import MetricStore, file_sha256
from harness.orchestrator import evaluate_run, finish, record_suite
from harness.runners.base import RunContext, SuiteOutcome, SuiteResult
from harness.runners.uat import SCENARIO_DIR, UatRunner
from harness.runners.unit import UnitPaths, UnitRunner
from harness.runners.unit_coverage import (
    DATA_NAME,
    CoverageFiles,
    CoverageProblem,
    child_environment,
    without_coverage_variables,
)
from harness.runs import MANIFEST_NAME, RunFolder, RunManifest, RunStatus
from harness.target import Deployment
from harness.verdict import ExitCode

__all__ = ["ShardSource", "merge_runs"]

log = logging.getLogger(__name__)

# Suite outcomes of a shard whose evidence can be combined. A shard that selected no tests ends
# NO_EVIDENCE and still has a readable, empty JUnit report.
USABLE_OUTCOMES = {SuiteOutcome.PASSED, SuiteOutcome.FAILED, SuiteOutcome.NO_EVIDENCE}
# Allure files that describe one run as a whole; the merged run writes its own.
RUN_LEVEL_ALLURE_FILES = {"environment.properties", "executor.json", "categories.json"}


@dataclass(frozen=True)
class ShardSource:
    """A shard run folder given to `harness merge`, and the sha256 of its manifest."""

    path: Path
    manifest: RunManifest
    manifest_sha256: str

    @property
    def run_id(self) -> str:
        return self.manifest.run_id

    def label(self, suite: str) -> str:
        return f"shard {self.manifest.shard_label} of {suite} (run {self.run_id})"


def open_source(reports: Path, name: str) -> ShardSource:
    """Open a run id under reports/runs, or a path to a run folder copied from elsewhere."""
    folder = Path(name)
    path = folder if folder.is_dir() else RunFolder.load(reports, name).path
    manifest_path = path / MANIFEST_NAME
    try:
        data = json.loads(manifest_path.read_text(encoding="utf-8"))
        manifest = RunManifest.from_json(data)
    except (OSError, ValueError, TypeError) as error:
        raise UsageError(
            Problem.UNREADABLE_FILE, {"path": manifest_path, "reason": error}
        ) from None
    if not manifest.shard_count:
        raise UsageError(Problem.NOT_A_SHARD_RUN, {"run_id": manifest.run_id})
    return ShardSource(path, manifest, file_sha256(manifest_path))


def open_sources(reports: Path, names: Sequence[str]) -> list[ShardSource]:
    """Open every named run once, ordered from the earliest start, so later attempts decide."""
    sources: dict[str, ShardSource] = {}
    for name in names:
        source = open_source(reports, name)
        if source.run_id in sources:
            log.info("run %s was given more than once; it is merged once", source.run_id)
        sources.setdefault(source.run_id, source)
    return sorted(sources.values(), key=lambda source: source.manifest.started_at)


def check_consistent(sources: list[ShardSource]) -> None:
    """Reject shard runs that do not belong to one sharded run of one build."""
    first = sources[0].manifest
    for source in sources[1:]:
        manifest = source.manifest
        fields: dict[str, tuple[object, object]] = {
            "environment": (manifest.environment, first.environment),
            "stage": (manifest.stage, first.stage),
            "shard count": (manifest.shard_count, first.shard_count),
        }
        # An interrupted run may have stopped before it learned its build or started a suite.
        if manifest.build_id and first.build_id:
            fields["build id"] = (manifest.build_id, first.build_id)
        if RunStatus.COMPLETED == manifest.status == first.status:
            fields["suites"] = (sorted(manifest.suites), sorted(first.suites))
        for field_name, (actual, expected) in fields.items():
            if actual != expected:
                values: dict[str, object] = {"run_id": source.run_id, "field": field_name}
                values.update(first_id=first.run_id, actual=actual, expected=expected)
                raise UsageError(Problem.SHARD_MISMATCH, values)


def merged_suites(sources: list[ShardSource]) -> list[str]:
    """Return the suites of the completed shard runs, or of every run when none completed."""
    completed = [s for s in sources if s.manifest.status is RunStatus.COMPLETED]
    return sorted({suite for source in completed or sources for suite in source.manifest.suites})


def source_problem(source: ShardSource, suite: str) -> str:
    """Return why a shard run's evidence for `suite` cannot be combined, or "" when it can."""
    manifest = source.manifest
    if manifest.status is not RunStatus.COMPLETED:
        return f"{source.label(suite)} is {manifest.status}, not completed"
    record = manifest.suites.get(suite)
    if record is None:
        return f"{source.label(suite)} did not run the suite"
    if record.outcome not in USABLE_OUTCOMES:
        return f"{source.label(suite)} ended {record.outcome}: {record.reason}"
    return ""


def shard_problems(sources: list[ShardSource], suite: str) -> tuple[list[ShardSource], str]:
    """Split the sources into usable ones and the reason the suite has no whole evidence.

    A shard index counts as present when at least one of its runs is usable, so a shard that
    was interrupted and then run again merges from the second run.
    """
    usable = [source for source in sources if not source_problem(source, suite)]
    covered = {source.manifest.shard_index for source in usable}
    problems = [
        source_problem(source, suite)
        for source in sources
        if source.manifest.shard_index not in covered
    ]
    count = sources[0].manifest.shard_count
    given = {source.manifest.shard_index for source in sources}
    problems += [
        f"shard {i}/{count} of {suite} missing" for i in range(1, count + 1) if i not in given
    ]
    return usable, "; ".join(problems)


def combined_junit(sources: list[ShardSource], suite: str, output: Path) -> None:
    """Write the shards' JUnit reports of `suite` as one report with one verdict per test id."""
    roots: list[ElementTree.Element] = []
    for source in sources:
        try:
            roots.append(read_root(source.path / "junit" / f"{suite}.xml"))
        except EvidenceError as error:
            raise EvidenceError(f"{source.label(suite)}: {error}") from None
    write_report(combine_reports(roots, suite), output)


def copy_allure_results(sources: list[ShardSource], destination: Path) -> None:
    """Copy every shard's Allure results; their file names are unique UUIDs per test result."""
    destination.mkdir(parents=True, exist_ok=True)
    for source in sources:
        folder = source.path / "allure-results"
        if not folder.is_dir():
            continue
        for path in sorted(folder.iterdir()):
            if path.is_file() and path.name not in RUN_LEVEL_ALLURE_FILES:
                shutil.copyfile(path, destination / path.name)


def merge_uat(context: RunContext, sources: list[ShardSource]) -> SuiteResult:
    junit = context.run.subdir("junit") / "uat.xml"
    combined_junit(sources, "uat", junit)
    copy_allure_results(sources, context.run.subdir("allure-results"))
    # Imported here because gherkin comes with the uat extra, as in the uat runner.
    from harness.signoff import write_sheet

    manual = write_sheet(context.run, context.root / SCENARIO_DIR)
    MetricStore(context.run).write("uat-manual", manual)
    return UatRunner().result(context, None, junit, context.run.path)


def merge_unit(context: RunContext, sources: list[ShardSource]) -> SuiteResult:
    paths = UnitPaths.for_run(context)
    combined_junit(sources, "unit", paths.junit)
    copy_allure_results(sources, paths.allure)
    problem = combine_coverage(paths.coverage, sources, context.root)
    return UnitRunner().result(context, paths, None, None, problem)


def combine_coverage(files: CoverageFiles, sources: list[ShardSource], root: Path) -> str:
    """Combine the shards' coverage data into the merged run and report it; return any problem.

    Each shard's combined data file is copied under coverage/shards/ first, so the merged run
    keeps the raw data its figures come from.

    NOTE: coverage.py stores absolute source paths, so the shards and the merge must use the
    same checkout path, as CI runners of one kind do. Otherwise the report finds no sources.
    """
    # Imported here because coverage comes with the unit extra, which a uat-only install lacks.
    from coverage import CoverageData
    from coverage.exceptions import CoverageException

    files.write_rcfile(None)
    shards = files.folder / "shards"
    shards.mkdir(parents=True, exist_ok=True)
    combined = CoverageData(basename=str(files.data_file))
    try:
        for source in sources:
            data_file = source.path / "coverage" / DATA_NAME
            if not data_file.is_file():
                raise CoverageProblem(f"{source.label('unit')} has no coverage data {data_file}")
            shard_copy = shards / f"{source.run_id}.coverage"
            shutil.copyfile(data_file, shard_copy)
            data = CoverageData(basename=str(shard_copy))
            data.read()
            combined.update(data)
        combined.write()
        files.report(without_coverage_variables(child_environment(root)), root)
    except (CoverageProblem, CoverageException) as error:
        return f"coverage data cannot be combined: {error}"
    return ""


MERGERS: dict[str, Callable[[RunContext, list[ShardSource]], SuiteResult]] = {
    "uat": merge_uat,
    "unit": merge_unit,
}


def merge_suite(context: RunContext, suite: str, sources: list[ShardSource]) -> None:
    usable, problem = shard_problems(sources, suite)
    merger = MERGERS.get(suite)
    if merger is None:
        problem = problem or f"the {suite} suite cannot be merged from shards"
    if problem or merger is None:
        record_suite(context.run, suite, SuiteResult(SuiteOutcome.NO_EVIDENCE, problem))
        return
    try:
        result = merger(context, usable)
    except EvidenceError as error:
        result = SuiteResult(SuiteOutcome.NO_EVIDENCE, str(error))
    record_suite(context.run, suite, result)


def create_merged_run(reports: Path, sources: list[ShardSource], stage: str) -> RunFolder:
    first = sources[0].manifest
    run = RunFolder.create(reports, first.environment, stage, whole_stage=first.whole_stage)
    manifest = run.manifest
    manifest.build_id, manifest.version = first.build_id, first.version
    manifest.target_url, manifest.candidate = first.target_url, first.candidate
    manifest.merged_from = [
        {
            "run_id": source.run_id,
            "shard": source.manifest.shard_label,
            "manifest_sha256": source.manifest_sha256,
        }
        for source in sources
    ]
    run.save()
    run.subdir("logs")
    log_to_run_folder(run.path)
    return run


def merge_runs(root: Path, reports: Path, names: Sequence[str], stage: str | None) -> ExitCode:
    """Merge the named shard runs into a new run, evaluate its stage's gates, return the code."""
    sources = open_sources(reports, names)
    check_consistent(sources)
    first = sources[0].manifest
    gates_path = root / "gates.toml"
    gates = load_gates(gates_path)
    stage = stage or first.stage
    gates.stage(stage, gates_path)
    environment = load_environment(first.environment, root)
    environment_path = root / "environments" / f"{first.environment}.toml"

    run = create_merged_run(reports, sources, stage)
    shards = ", ".join(f"{s.manifest.shard_label} (run {s.run_id})" for s in sources)
    log.info("run %s: merging shards %s", run.run_id, shards)
    deployment = Deployment(first.target_url, "", first.build_id, first.version)
    context = RunContext(root, run, environment, environment_path, deployment)
    try:
        for suite in merged_suites(sources):
            merge_suite(context, suite, sources)
    except KeyboardInterrupt:
        finish(run, RunStatus.INTERRUPTED, root)
        raise
    except HarnessError:
        finish(run, RunStatus.ERROR, root)
        raise
    finish(run, RunStatus.COMPLETED, root)
    return evaluate_run(run, gates, stage).verdict.exit_code
