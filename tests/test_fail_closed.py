"""The fail-closed matrix: every kind of doubtful evidence makes the verdict FAIL and names why.

The first group drives the unit suite through an external test command, a small script that
writes the JUnit and Cobertura files a real tool would, except for one defect each. The second
group takes one good stored run and damages a copy of it before `harness gate --run` evaluates
it again. A lost load worker and a lost shard have their own tests next to their suites.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import Project, copy_project, gate_outcomes
from tests.test_unit_run import path_with_python

pytestmark = pytest.mark.slow

# A stand-in for a test tool: it writes the report its mode calls for and exits with a code.
TOOL = """
import os
import signal
import sys

mode, junit, coverage = sys.argv[1:4]
PASSED = '<testcase classname="t" name="test_{0}"/>'
SKIPPED = '<testcase classname="t" name="test_{0}"><skipped message="not here"/></testcase>'
FAILED = '<testcase classname="t" name="test_{0}"><failure message="boom"/></testcase>'


def suite(*cases):
    return "<testsuites><testsuite name='t'>" + "".join(cases) + "</testsuite></testsuites>"


reports = {
    "missing": None,
    "empty": "",
    "corrupt": "<testsuites><testsuite name='t'><testcase",
    "zero-tests": suite(),
    "all-skipped": suite(SKIPPED.format(1), SKIPPED.format(2)),
    "crashed": suite(PASSED.format(1)),
    "exit-0-with-failure": suite(PASSED.format(1), FAILED.format(2)),
    "exit-1-all-passed": suite(PASSED.format(1), PASSED.format(2)),
}
exit_codes = {"zero-tests": 5, "exit-1-all-passed": 1}
if reports[mode] is not None:
    with open(junit, "w") as stream:
        stream.write(reports[mode])
with open(coverage, "w") as stream:
    stream.write(
        '<coverage lines-valid="10" lines-covered="10" branches-valid="0" '
        'branches-covered="0"><packages/></coverage>'
    )
if mode == "crashed":
    os.kill(os.getpid(), signal.SIGKILL)
sys.exit(exit_codes.get(mode, 0))
"""


def tool_environment(project: Project, mode: str) -> None:
    checkout = project.root / "tool"
    checkout.mkdir(exist_ok=True)
    (checkout / "tool.py").write_text(TOOL)
    command = ["python", "tool.py", mode, "{junit_xml}", "{coverage_xml}"]
    unit = f'checkout = "tool"\ncommand = {json.dumps(command)}\n'
    project.write("environments/tool.toml", f"[target]\nembedded = true\n\n[unit]\n{unit}")


@pytest.mark.parametrize(
    ("mode", "named"),
    [
        ("missing", "unit.xml is missing"),
        ("empty", "unit.xml is empty"),
        ("corrupt", "unit.xml is not valid XML"),
        ("zero-tests", "no tests"),
        ("all-skipped", "skipped"),
        ("crashed", "killed by signal SIGKILL"),
        ("exit-0-with-failure", "exit code 0"),
        ("exit-1-all-passed", "exit code 1"),
    ],
)
def test_doubtful_tool_output_fails(project: Project, mode: str, named: str) -> None:
    tool_environment(project, mode)
    result = project.harness("run", "unit", "--env", "tool", env=path_with_python())

    assert result.returncode == 1, result.stdout + result.stderr
    assert "verdict FAIL" in result.stdout
    outcomes = gate_outcomes(project.verdict())
    assert outcomes["unit-tests-passed"] != "PASS"
    assert named in reasons(project.verdict()), reasons(project.verdict())


def edit_json(path: Path, change: Callable[[dict[str, object]], None]) -> None:
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))


def set_metric_field(field: str, value: str) -> Callable[[dict[str, object]], None]:
    def change(data: dict[str, object]) -> None:
        metrics = data["metrics"]
        assert isinstance(metrics, list)
        for metric in metrics:
            metric[field] = value

    return change


def set_status(status: str) -> Callable[[dict[str, object]], None]:
    def change(data: dict[str, object]) -> None:
        data["status"] = status

    return change


def damage(run: Path, case: str) -> None:
    """Damage a copy of a good run the way the case describes."""
    metrics = run / "metrics" / "unit.json"
    if case == "another build":
        edit_json(metrics, set_metric_field("build_id", "build-from-yesterday"))
    elif case == "another environment":
        edit_json(metrics, set_metric_field("environment", "staging"))
    elif case == "another run":
        edit_json(metrics, set_metric_field("run_id", "20200101T000000Z-000000"))
    elif case == "interrupted run":
        edit_json(run / "run.json", set_status("interrupted"))
    elif case == "evidence edited":
        junit = run / "junit" / "unit.xml"
        junit.write_text(junit.read_text().replace("test_two", "test_2"))
    elif case == "evidence deleted":
        (run / "junit" / "unit.xml").unlink()
    elif case == "metrics unreadable":
        metrics.write_text("{not json")
    else:
        raise AssertionError(case)


DAMAGE_NAMED = {
    "another build": "is from build build-from-yesterday",
    "another environment": "is from environment staging, not ci",
    "another run": "is from run 20200101T000000Z-000000",
    "interrupted run": "is interrupted, not completed",
    "evidence edited": "changed after",
    "evidence deleted": "is missing",
    "metrics unreadable": "unit.json is unreadable",
}

JUNIT = """<?xml version="1.0" encoding="utf-8"?>
<testsuites><testsuite name="ci" tests="2">
  <testcase classname="ci.test_a" name="test_one"/>
  <testcase classname="ci.test_a" name="test_two"/>
</testsuite></testsuites>
"""
COBERTURA = '<coverage lines-valid="10" lines-covered="10"><packages/></coverage>\n'


@pytest.fixture(scope="module")
def stored(tmp_path_factory: pytest.TempPathFactory) -> tuple[Project, Path]:
    """A project with one run whose unit gates all pass, from ingested reports (no service)."""
    project = copy_project(tmp_path_factory.mktemp("stored") / "project")
    project.write("ci/junit.xml", JUNIT)
    project.write("ci/coverage.xml", COBERTURA)
    project.write(
        "environments/ci.toml",
        '[target]\nembedded = true\n\n[unit]\njunit_xml = "ci/junit.xml"\n'
        'coverage_xml = "ci/coverage.xml"\n',
    )
    result = project.harness("run", "unit", "--env", "ci", "--stage", "dev")
    assert result.returncode == 0, result.stdout + result.stderr
    return project, project.latest()


@pytest.mark.parametrize("case", sorted(DAMAGE_NAMED))
def test_damaged_stored_run_fails(stored: tuple[Project, Path], case: str) -> None:
    project, good = stored
    # The copy keeps the run id in its manifest and metrics; only its folder name differs.
    copy = good.parent / f"{good.name}-{case.replace(' ', '-')}"
    shutil.copytree(good, copy)
    damage(copy, case)

    result = project.harness("gate", "--run", copy.name, "--stage", "dev")

    assert result.returncode == 1, result.stdout + result.stderr
    assert "verdict FAIL" in result.stdout
    verdict = project.verdict(copy)
    assert gate_outcomes(verdict)["unit-tests-passed"] == "NO_EVIDENCE"
    assert DAMAGE_NAMED[case] in reasons(verdict), reasons(verdict)


def reasons(verdict: dict[str, object]) -> str:
    """Every gate's reason in a verdict, joined, for matching."""
    gates = verdict["gates"]
    assert isinstance(gates, list)
    return " | ".join(str(gate["reason"]) for gate in gates)
