"""Sharded runs and `harness merge`: the partition, the combined JUnit report and real runs."""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import pytest

from harness.evidence.junit import case_outcomes, parse_junit
from harness.evidence.junit_merge import combine_reports, write_report
from harness.metrics import file_sha256
from harness.shards import MAX_SHARDS, parse_shard, shard_of
from tests.conftest import Project, gate_outcomes
from tests.test_bad_input import assert_one_line_error

UAT_GATES = {"uat-scenarios-executed", "uat-scenarios-passed"}


def run_shard(project: Project, suite: str, shard: str, *args: str) -> Path:
    """Run one shard for real and return its run folder."""
    result = project.harness("run", suite, "--shard", shard, *args)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"shard {shard} is a partial run" in result.stdout
    return project.latest()


def merge(project: Project, *runs: str) -> subprocess.CompletedProcess[str]:
    return project.harness("merge", *runs)


def case_ids(junit: Path) -> set[str]:
    return set(case_outcomes(junit))


# The partition.


def test_every_test_in_exactly_one_shard() -> None:
    node_ids = [f"suites/unit/test_{n % 17}.py::test_case[{n}]" for n in range(500)]
    for count in (1, 2, 3, 7, MAX_SHARDS):
        shards = [shard_of(node_id, count) for node_id in node_ids]
        assert all(1 <= shard <= count for shard in shards)
        assert shards == [shard_of(node_id, count) for node_id in node_ids]
        members = [parse_shard(f"{i}/{count}") for i in range(1, count + 1)]
        for node_id in node_ids:
            assert sum(member.holds(node_id) for member in members) == 1
    assert len({shard_of(node_id, 7) for node_id in node_ids}) == 7


def test_shard_of_is_sha256_of_node_id() -> None:
    digest = hashlib.sha256(b"a.py::test_x").digest()
    assert shard_of("a.py::test_x", 5) == int.from_bytes(digest[:8], "big") % 5 + 1


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("2", "write INDEX/COUNT"),
        ("a/b", "write INDEX/COUNT"),
        ("-1/2", "write INDEX/COUNT"),
        ("0/2", "the index must be from 1 to the count 2"),
        ("3/2", "the index must be from 1 to the count 2"),
        ("1/0", "the count must be from 1 to 64"),
        ("1/65", "the count must be from 1 to 64"),
    ],
)
def test_invalid_shard_rejected(text: str, message: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match=message):
        parse_shard(text)


def test_valid_shard_parsed() -> None:
    shard = parse_shard("3/64")
    assert (shard.index, shard.count) == (3, 64)
    assert str(shard) == "3/64"


# Combining JUnit reports.


def report(*cases: str) -> ElementTree.Element:
    text = f"<testsuites><testsuite>{''.join(cases)}</testsuite></testsuites>"
    return ElementTree.fromstring(text)  # noqa: S314 - the test's own literal XML


PASS_A = '<testcase classname="m" name="a"/>'
FAIL_A = '<testcase classname="m" name="a"><failure message="x"/></testcase>'
PASS_B = '<testcase classname="m" name="b"/>'
FAIL_B = '<testcase classname="m" name="b"><failure message="x"/></testcase>'
SKIP_C = '<testcase classname="m" name="c"><skipped/></testcase>'


def combined_counts(tmp_path: Path, *roots: ElementTree.Element) -> tuple[int, ...]:
    path = tmp_path / "combined.xml"
    write_report(combine_reports(roots, "uat"), path)
    counts = parse_junit(path)
    return counts.total, counts.passed, counts.failed, counts.skipped, counts.flaky


def test_overlapping_ids_counted_once(tmp_path: Path) -> None:
    counts = combined_counts(tmp_path, report(PASS_A, PASS_B), report(PASS_A, SKIP_C))
    assert counts == (3, 2, 0, 1, 0)


def test_later_pass_after_failure_is_flaky(tmp_path: Path) -> None:
    counts = combined_counts(tmp_path, report(FAIL_A, PASS_B), report(PASS_A))
    assert counts == (2, 2, 0, 0, 1)


def test_later_failure_decides(tmp_path: Path) -> None:
    counts = combined_counts(tmp_path, report(PASS_A, PASS_B), report(FAIL_B))
    assert counts == (2, 1, 1, 0, 0)


def test_reruns_inside_a_shard_carry_over(tmp_path: Path) -> None:
    # pytest-rerunfailures wrote two attempts of b in the first report; a third run passed again.
    counts = combined_counts(tmp_path, report(FAIL_B, PASS_B), report(PASS_B))
    assert counts == (1, 1, 0, 0, 1)


def test_combined_report_replaces_reruns_property(tmp_path: Path) -> None:
    rerun = '<testcase classname="m" name="a"><properties>'
    rerun += '<property name="reruns" value="2"/><property name="x" value="y"/></properties>'
    rerun += "</testcase>"
    # One failed attempt in the first report, then two failed reruns before a pass in the second.
    combined = combine_reports([report(FAIL_A), report(rerun)], "unit")
    case = next(combined.iter("testcase"))
    properties = {p.get("name"): p.get("value") for p in case.iter("property")}
    assert properties == {"x": "y", "reruns": "3"}
    suite = next(combined.iter("testsuite"))
    assert suite.get("tests") == "1"
    assert suite.get("name") == "unit"


# The command line, without running a suite.


@pytest.mark.parametrize("value", ["0/2", "3/2", "1/65", "half"])
def test_bad_shard_flag_exits_2(project: Project, value: str) -> None:
    result = project.harness("run", "uat", "--shard", value)
    assert_one_line_error(result, "--shard", repr(value))
    assert project.runs() == []


@pytest.mark.parametrize("suite", ["contract", "security", "load", "device", "e2e"])
def test_unshardable_suite_rejected(project: Project, suite: str) -> None:
    result = project.harness("run", suite, "--shard", "1/2")
    assert_one_line_error(result, f"the {suite} suite cannot be sharded", "uat, unit")
    assert project.runs() == []


def test_ingested_unit_suite_rejects_shard(project: Project) -> None:
    project.write("ci/junit.xml", "<testsuites/>")
    project.write("ci/coverage.xml", "<coverage/>")
    environment = '[target]\nembedded = true\n\n[unit]\njunit_xml = "ci/junit.xml"\n'
    environment += 'coverage_xml = "ci/coverage.xml"\n'
    project.write("environments/ci.toml", environment)
    result = project.harness("run", "unit", "--env", "ci", "--shard", "1/2")
    assert_one_line_error(result, "--shard applies to the embedded unit suite only", "ingest")


def test_merge_of_unknown_run_exits_2(project: Project) -> None:
    result = merge(project, "20260101T000000Z-000000")
    assert_one_line_error(result, "run '20260101T000000Z-000000' not found")


def test_merge_of_unreadable_folder_exits_2(project: Project, tmp_path: Path) -> None:
    folder = tmp_path / "artifact"
    folder.mkdir()
    (folder / "run.json").write_text("{not json")
    result = merge(project, str(folder))
    assert_one_line_error(result, "run.json: cannot be read")


# Real shard runs.


@pytest.mark.slow
def test_uat_shards_merge_to_whole_run(project: Project) -> None:
    whole = project.harness("run", "uat", "--build", "b1")
    assert whole.returncode == 0, whole.stdout + whole.stderr
    whole_total = project.metrics("uat")["uat.scenarios.total"]["exact"]
    whole_run = project.latest()
    whole_ids = case_ids(whole_run / "junit" / "uat.xml")

    first = run_shard(project, "uat", "1/2", "--build", "b1")
    second = run_shard(project, "uat", "2/2", "--build", "b1")
    manifest = project.manifest(first)
    assert (manifest["shard_index"], manifest["shard_count"]) == (1, 2)
    assert not (first / "verdict.json").exists()
    first_ids, second_ids = (
        case_ids(first / "junit" / "uat.xml"),
        case_ids(second / "junit" / "uat.xml"),
    )
    assert first_ids and second_ids
    assert first_ids.isdisjoint(second_ids)
    assert first_ids | second_ids == whole_ids

    result = merge(project, first.name, second.name)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "verdict PASS: all 2 gates passed" in result.stdout
    merged = project.latest()
    assert merged not in (first, second)
    assert project.metrics("uat", merged)["uat.scenarios.total"]["exact"] == whole_total
    assert case_ids(merged / "junit" / "uat.xml") == whole_ids
    assert set(gate_outcomes(project.verdict(merged)).values()) == {"PASS"}

    sources = project.manifest(merged)["merged_from"]
    assert isinstance(sources, list)
    assert [source["run_id"] for source in sources] == [first.name, second.name]
    assert [source["shard"] for source in sources] == ["1/2", "2/2"]
    for source, folder in zip(sources, (first, second), strict=True):
        assert source["manifest_sha256"] == file_sha256(folder / "run.json")

    allure = merged / "allure-results"
    scenario_results = [p for p in allure.glob("*-result.json") if '"gate ' not in p.read_text()]
    assert len(scenario_results) == len(whole_ids)

    # A stage that requires two uat shards accepts the merged run and no other.
    gates = project.root / "gates.toml"
    gates.write_text(gates.read_text() + SHARDED_STAGE.format(count=2))
    sharded = project.harness("gate", "--run", merged.name, "--stage", "sharded")
    assert sharded.returncode == 0, sharded.stdout + sharded.stderr
    unsharded = project.harness("gate", "--run", whole_run.name, "--stage", "sharded")
    assert unsharded.returncode == 1
    assert "requires suite uat merged from 2 shards" in unsharded.stdout
    assert "was not sharded" in unsharded.stdout
    gates.write_text(gates.read_text().replace("uat = 2", "uat = 3"))
    wrong = project.harness("gate", "--run", merged.name, "--stage", "sharded")
    assert wrong.returncode == 1
    assert "was merged from 2 shards" in wrong.stdout


SHARDED_STAGE = """
[stages.sharded]
shards = {{ uat = {count} }}

[[stages.sharded.gates]]
name = "uat-scenarios-passed"
metric = "uat.scenarios.failed"
comparison = "=="
threshold = 0
"""


def test_unshardable_stage_requirement_rejected(project: Project) -> None:
    gates = project.root / "gates.toml"
    stage = SHARDED_STAGE.format(count=2).replace("uat = 2", "load = 2")
    gates.write_text(gates.read_text() + stage)
    result = project.harness("run", "uat", "--stage", "sharded")
    assert result.returncode == 2
    assert "stages.sharded.shards" in result.stderr
    assert "cannot be sharded" in result.stderr


@pytest.mark.slow
def test_missing_shard_fails_gates(project: Project) -> None:
    first = run_shard(project, "uat", "1/3")
    third = run_shard(project, "uat", "3/3")
    result = merge(project, first.name, third.name)
    assert result.returncode == 1, result.stdout + result.stderr
    outcomes = gate_outcomes(project.verdict())
    assert outcomes == dict.fromkeys(UAT_GATES, "NO_EVIDENCE")
    reasons = [gate["reason"] for gate in project.verdict()["gates"]]  # type: ignore[attr-defined]
    assert all("shard 2/3 of uat missing" in reason for reason in reasons)


@pytest.mark.slow
def test_repeated_and_overlapping_shards_counted_once(project: Project) -> None:
    first = run_shard(project, "uat", "1/2")
    again = run_shard(project, "uat", "1/2")
    second = run_shard(project, "uat", "2/2")
    shard_total = len(case_ids(first / "junit" / "uat.xml")) + len(
        case_ids(second / "junit" / "uat.xml")
    )

    result = merge(project, first.name, first.name, again.name, str(second))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "given more than once" in result.stderr
    merged = project.latest()
    assert project.metrics("uat", merged)["uat.scenarios.total"]["exact"] == str(shard_total)
    assert project.metrics("uat", merged)["uat.scenarios.failed"]["exact"] == "0"
    sources = project.manifest(merged)["merged_from"]
    assert isinstance(sources, list)
    assert len(sources) == 3


@pytest.mark.slow
def test_mismatched_shards_rejected(project: Project) -> None:
    local = project.root / "environments" / "local.toml"
    shutil.copy(local, project.root / "environments" / "local2.toml")
    first = run_shard(project, "uat", "1/2", "--build", "b1")
    other_build = run_shard(project, "uat", "2/2", "--build", "b2")
    other_environment = run_shard(project, "uat", "2/2", "--build", "b1", "--env", "local2")
    other_count = run_shard(project, "uat", "2/3", "--build", "b1")
    before = project.runs()

    result = merge(project, first.name, other_build.name)
    assert_one_line_error(result, f"run {other_build.name}", "build id is 'b2'", "'b1'")
    result = merge(project, first.name, other_environment.name)
    assert_one_line_error(result, f"run {other_environment.name}", "environment is 'local2'")
    result = merge(project, first.name, other_count.name)
    assert_one_line_error(result, f"run {other_count.name}", "shard count is 3")
    assert project.runs() == before


def interrupt(run: Path) -> str:
    manifest = json.loads((run / "run.json").read_text())
    manifest["status"] = "interrupted"
    (run / "run.json").write_text(json.dumps(manifest))
    return " is interrupted, not completed"


def break_suite(run: Path) -> str:
    manifest = json.loads((run / "run.json").read_text())
    manifest["suites"]["uat"].update(outcome="error", reason="pytest ended with exit code 3")
    (run / "run.json").write_text(json.dumps(manifest))
    return " ended error: pytest ended with exit code 3"


def remove_junit(run: Path) -> str:
    (run / "junit" / "uat.xml").unlink()
    return ": uat.xml is missing"


@pytest.mark.slow
def test_unusable_shard_named(project: Project, tmp_path: Path) -> None:
    first = run_shard(project, "uat", "1/2")
    second = run_shard(project, "uat", "2/2")
    # CI artifacts of shard jobs that were cancelled, broke, or lost their report.
    for damage in (interrupt, break_suite, remove_junit):
        artifact = tmp_path / damage.__name__ / second.name
        shutil.copytree(second, artifact)
        reason = damage(artifact)

        result = merge(project, first.name, str(artifact))
        assert result.returncode == 1, result.stdout + result.stderr
        assert gate_outcomes(project.verdict()) == dict.fromkeys(UAT_GATES, "NO_EVIDENCE")
        assert f"shard 2/2 of uat (run {second.name}){reason}" in result.stdout


@pytest.mark.slow
def test_shard_run_not_promoted(project: Project) -> None:
    shard = run_shard(project, "uat", "1/2")
    result = project.harness("promote", "--run", shard.name, "--to", "dev")
    assert_one_line_error(result, f"run {shard.name} is shard 1/2", "harness merge")
    assert not list(shard.glob("promotion-*.json"))

    again = project.harness("gate", "--run", shard.name)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "shard 1/2 is a partial run, so no gate is evaluated on it" in again.stdout

    whole = project.harness("run", "uat")
    assert whole.returncode == 0, whole.stdout + whole.stderr
    result = merge(project, shard.name, project.latest().name)
    assert_one_line_error(result, f"run {project.latest().name} is not a shard run")


def exact_int(metrics: dict[str, dict[str, object]], name: str) -> int:
    return int(str(metrics[name]["exact"]))


@pytest.mark.slow
def test_unit_shards_combine_coverage(project: Project) -> None:
    first = run_shard(project, "unit", "1/2")
    second = run_shard(project, "unit", "2/2")
    result = merge(project, first.name, second.name)
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r"suite unit: passed \(\d+ of \d+ passed\)", result.stdout)
    merged = project.latest()

    shard_metrics = [project.metrics("unit", run) for run in (first, second)]
    metrics = project.metrics("unit", merged)
    total = sum(exact_int(shard, "unit.tests.total") for shard in shard_metrics)
    assert exact_int(metrics, "unit.tests.total") == total
    env = dict(os.environ, PYTHONPATH=str(project.root / "sut"))
    command = [sys.executable, "-m", "pytest", "suites/unit", "--collect-only", "-q"]
    collected = subprocess.run(
        [*command, "-p", "no:locust", "-p", "no:cacheprovider", "-p", "no:allure_pytest_bdd"],
        cwd=project.root,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert f"{total} tests collected" in collected.stdout, collected.stdout + collected.stderr

    covered = exact_int(metrics, "unit.coverage.statements.covered")
    statements = exact_int(metrics, "unit.coverage.statements.total")
    for shard in shard_metrics:
        assert covered > exact_int(shard, "unit.coverage.statements.covered")
        assert statements == exact_int(shard, "unit.coverage.statements.total")
    assert metrics["unit.coverage.line_percent"]["evidence"] == "coverage/coverage.xml"
    kept = sorted(path.name for path in (merged / "coverage" / "shards").iterdir())
    assert kept == sorted([f"{first.name}.coverage", f"{second.name}.coverage"])
    assert gate_outcomes(project.verdict(merged)) == {
        "unit-line-coverage": "PASS",
        "unit-tests-passed": "PASS",
    }
