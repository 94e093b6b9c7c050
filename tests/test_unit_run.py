"""Real `harness run unit` runs: tests under coverage, their evidence, metrics and verdict."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ElementTree
from fractions import Fraction
from pathlib import Path

import pytest

from tests.conftest import Project, gate_outcomes

pytestmark = pytest.mark.slow

# Deterministic tests that also start the service as a subprocess, whose coverage must be merged.
SUBSET = "storage or tokens or subprocess"
CRASHING_TEST = "import os\n\n\ndef test_crashes_its_worker():\n    os._exit(3)\n"
SKIPPED_TESTS = """import pytest


def test_always_skipped_one():
    pytest.skip("not here")


def test_always_skipped_two():
    pytest.skip("not here")
"""
FAILS_ONCE_TEST = """from pathlib import Path


def test_fails_once():
    marker = Path(__file__).with_name("fails-once.marker")
    if not marker.exists():
        marker.write_text("first attempt")
        raise AssertionError("the first attempt fails")
"""


def covered_lines(report: Path) -> dict[str, set[int]]:
    """Map each file of a Cobertura report to the numbers of its lines that ran."""
    root = ElementTree.parse(report).getroot()  # noqa: S314 - written by coverage.py in this test
    lines: dict[str, set[int]] = {}
    for source_file in root.iter("class"):
        hits = lines.setdefault(source_file.get("filename", ""), set())
        for line in source_file.iter("line"):
            if int(line.get("hits", "0")) > 0:
                hits.add(int(line.get("number", "0")))
    return lines


def exact_values(project: Project, run: Path) -> dict[str, object]:
    return {name: metric["exact"] for name, metric in project.metrics("unit", run).items()}


def test_full_suite_passes_with_evidence(project: Project) -> None:
    result = project.harness("run", "unit", "--workers", "2", "--build", "b-unit")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "verdict PASS: all 2 gates passed" in result.stdout

    run = project.latest()
    metrics = project.metrics("unit", run)
    covered = int(str(metrics["unit.coverage.statements.covered"]["exact"]))
    total = int(str(metrics["unit.coverage.statements.total"]["exact"]))
    assert metrics["unit.coverage.line_percent"]["exact"] == str(Fraction(covered * 100, total))
    assert Fraction(covered * 100, total) >= 90
    assert metrics["unit.tests.passed"]["exact"] == metrics["unit.tests.total"]["exact"]
    assert metrics["unit.tests.failed"]["exact"] == "0"
    assert "unit.coverage.branch_percent" in metrics
    assert {metric["build_id"] for metric in metrics.values()} == {"b-unit"}

    coverage = run / "coverage"
    assert (coverage / "unit.coverage").is_file()
    assert (coverage / "coverage.xml").is_file()
    assert (coverage / "html" / "index.html").is_file()
    assert sorted(coverage.glob("unit.coverage.*")) == []
    assert len(list((run / "unit-state").glob("process-gw*.json"))) == 2
    assert not list(project.root.glob(".coverage*"))
    allure = list((run / "allure-results").glob("*-result.json"))
    assert len(allure) >= int(str(metrics["unit.tests.total"]["exact"]))


def test_covered_lines_same_without_workers(project: Project) -> None:
    parallel = project.harness("run", "unit", "--workers", "2", "--select", SUBSET)
    parallel_run = project.latest()
    serial = project.harness("run", "unit", "--workers", "0", "--select", SUBSET)
    serial_run = project.latest()

    assert parallel.returncode in (0, 1), parallel.stderr
    assert serial.returncode in (0, 1), serial.stderr
    assert not list((serial_run / "unit-state").glob("process-gw*.json"))
    parallel_lines = covered_lines(parallel_run / "coverage" / "coverage.xml")
    serial_lines = covered_lines(serial_run / "coverage" / "coverage.xml")
    assert parallel_lines == serial_lines
    assert any("cli.py" in name and lines for name, lines in serial_lines.items())


def test_two_runs_give_identical_totals(project: Project) -> None:
    first = project.harness("run", "unit", "--select", "tokens")
    first_run = project.latest()
    second = project.harness("run", "unit", "--select", "tokens")
    second_run = project.latest()

    assert first_run != second_run
    assert first.returncode == second.returncode
    assert exact_values(project, first_run) == exact_values(project, second_run)


def test_crashed_worker_fails_and_names_worker(project: Project) -> None:
    project.write("suites/unit/test_crash.py", CRASHING_TEST)
    result = project.harness("run", "unit", "--workers", "2", "--select", "crashes or tokens")
    assert result.returncode == 1, result.stdout + result.stderr

    run = project.latest()
    metrics = project.metrics("unit", run)
    collected = json.loads((run / "unit-state" / "collected.json").read_text())["collected"]
    assert metrics["unit.tests.failed"]["exact"] == "1"
    assert metrics["unit.tests.total"]["exact"] == str(collected)
    coverage_reason = str(metrics["unit.coverage.line_percent"]["unknown_reason"])
    assert metrics["unit.coverage.line_percent"]["exact"] is None
    assert "coverage data of gw" in coverage_reason
    assert "is missing" in coverage_reason
    outcomes = gate_outcomes(project.verdict(run))
    assert outcomes == {"unit-line-coverage": "NO_EVIDENCE", "unit-tests-passed": "FAIL"}


def test_no_tests_collected_fails(project: Project) -> None:
    result = project.harness("run", "unit", "--select", "no_test_has_this_name")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "no tests were collected" in result.stdout
    assert set(gate_outcomes(project.verdict()).values()) == {"NO_EVIDENCE"}
    assert project.manifest()["suites"]["unit"]["exit_code"] == 5  # type: ignore[index]


def test_all_skipped_fails(project: Project) -> None:
    project.write("suites/unit/test_skipped.py", SKIPPED_TESTS)
    result = project.harness("run", "unit", "--select", "always_skipped")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "all 2 tests were skipped" in result.stdout
    assert set(gate_outcomes(project.verdict()).values()) == {"NO_EVIDENCE"}


def test_rerun_pass_recorded_once_as_flaky(project: Project) -> None:
    project.write("suites/unit/test_flaky.py", FAILS_ONCE_TEST)
    result = project.harness("run", "unit", "--select", "fails_once", "--reruns", "1")
    assert result.returncode == 1, result.stdout + result.stderr  # one test covers little

    run = project.latest()
    metrics = project.metrics("unit", run)
    assert metrics["unit.tests.total"]["exact"] == "1"
    assert metrics["unit.tests.passed"]["exact"] == "1"
    assert metrics["unit.tests.failed"]["exact"] == "0"
    assert metrics["unit.tests.flaky"]["exact"] == "1"
    assert project.manifest(run)["suites"]["unit"]["outcome"] == "passed"  # type: ignore[index]
    assert '<property name="reruns" value="1"' in (run / "junit" / "unit.xml").read_text()

    results = [
        json.loads(path.read_text()) for path in (run / "allure-results").glob("*-result.json")
    ]
    attempts = [data for data in results if data["name"] == "test_fails_once"]
    passed = [data for data in attempts if data["status"] == "passed"]
    assert len(passed) == 1
    assert passed[0]["statusDetails"]["flaky"] is True


def write_external_checkout(root: Path) -> Path:
    checkout = root / "product"
    checkout.mkdir()
    (checkout / "calc.py").write_text(
        "def add(a, b):\n    return a + b\n\n\ndef unused():\n    return 0\n"
    )
    (checkout / "test_calc.py").write_text(
        "from calc import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n"
    )
    return checkout


def external_environment(command: list[str]) -> str:
    return (
        "[target]\nembedded = true\n\n[unit]\n"
        f'checkout = "product"\ncommand = {json.dumps(command)}\n'
    )


def path_with_python() -> dict[str, str]:
    return {"PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]])}


def test_external_command_combines_its_data(project: Project) -> None:
    write_external_checkout(project.root)
    command = ["python", "-m", "coverage", "run", "--parallel-mode", "--data-file={coverage_data}"]
    command += ["--source=.", "-m", "pytest", "-p", "no:allure_pytest_bdd", "-p"]
    command += ["no:cacheprovider", "--junitxml={junit_xml}", "test_calc.py"]
    project.write("environments/product.toml", external_environment(command))

    result = project.harness("run", "unit", "--env", "product", env=path_with_python())
    assert result.returncode == 1, result.stdout + result.stderr
    outcomes = gate_outcomes(project.verdict())
    assert outcomes == {"unit-line-coverage": "FAIL", "unit-tests-passed": "PASS"}
    metrics = project.metrics("unit")
    # calc.py has 4 statements of which unused()'s return does not run, and test_calc.py has 3.
    assert metrics["unit.coverage.statements.total"]["exact"] == "7"
    assert metrics["unit.coverage.statements.covered"]["exact"] == "6"
    assert metrics["unit.coverage.line_percent"]["exact"] == str(Fraction(600, 7))
    assert "85.7142…" in result.stdout


def test_nothing_to_combine_is_error(project: Project) -> None:
    write_external_checkout(project.root)
    command = ["python", "-m", "pytest", "-p", "no:allure_pytest_bdd", "-p", "no:cacheprovider"]
    command += ["--junitxml={junit_xml}", "--basetemp={coverage_data}.tmp", "test_calc.py"]
    project.write("environments/product.toml", external_environment(command))

    result = project.harness("run", "unit", "--env", "product", env=path_with_python())
    assert result.returncode == 1, result.stdout + result.stderr
    metrics = project.metrics("unit")
    assert metrics["unit.coverage.line_percent"]["exact"] is None
    assert "nothing to combine" in str(metrics["unit.coverage.line_percent"]["unknown_reason"])
    assert project.manifest()["suites"]["unit"]["outcome"] == "error"  # type: ignore[index]
    assert gate_outcomes(project.verdict())["unit-line-coverage"] == "NO_EVIDENCE"


COBERTURA = """<?xml version="1.0" ?>
<coverage version="7.18.0" lines-valid="{total}" lines-covered="{covered}" line-rate="0.9"
  branches-covered="0" branches-valid="0" branch-rate="0" complexity="0">
  <packages/>
</coverage>
"""
JUNIT = """<?xml version="1.0" encoding="utf-8"?>
<testsuites><testsuite name="ci" tests="2">
  <testcase classname="ci.test_a" name="test_one"/>
  <testcase classname="ci.test_a" name="test_two"/>
</testsuite></testsuites>
"""


@pytest.mark.parametrize(
    ("covered", "shown", "verdict"),
    [(8999, "89.99 ", "FAIL"), (8950, "89.5 ", "FAIL"), (9000, "90 ", "PASS")],
)
def test_ingested_report_gated_exactly(
    project: Project, covered: int, shown: str, verdict: str
) -> None:
    project.write("ci/coverage.xml", COBERTURA.format(total=10_000, covered=covered))
    project.write("ci/junit.xml", JUNIT)
    environment = '[target]\nembedded = true\n\n[unit]\ncoverage_xml = "ci/coverage.xml"\n'
    project.write("environments/ci.toml", environment + 'junit_xml = "ci/junit.xml"\n')

    result = project.harness("run", "unit", "--env", "ci")
    assert result.returncode == (0 if verdict == "PASS" else 1), result.stdout + result.stderr
    assert f"verdict {verdict}" in result.stdout
    line = next(text for text in result.stdout.splitlines() if "unit-line-coverage" in text)
    assert f"unit-line-coverage  {shown}" in line
    assert project.metrics("unit")["unit.coverage.line_percent"]["exact"] == str(
        Fraction(covered, 100)
    )


def test_ingested_data_file_reported(project: Project) -> None:
    checkout = write_external_checkout(project.root)
    data = project.root / "ci" / "unit.coverage"
    data.parent.mkdir()
    (checkout / "use_calc.py").write_text("import calc\n\ncalc.add(1, 2)\n")
    run_coverage = [sys.executable, "-m", "coverage", "run", f"--data-file={data}", "--branch"]
    run_coverage += ["--include=*/calc.py", "use_calc.py"]
    completed = subprocess.run(
        run_coverage, cwd=checkout, capture_output=True, text=True, check=False
    )
    assert completed.returncode == 0, completed.stderr
    environment = '[target]\nembedded = true\n\n[unit]\ncoverage_data = "ci/unit.coverage"\n'
    project.write("environments/ci.toml", environment)

    result = project.harness("run", "unit", "--env", "ci")
    assert result.returncode == 1, result.stdout + result.stderr
    metrics = project.metrics("unit")
    assert metrics["unit.coverage.statements.total"]["exact"] == "4"
    assert metrics["unit.coverage.statements.covered"]["exact"] == "3"
    assert "no JUnit report to ingest" in str(metrics["unit.tests.failed"]["unknown_reason"])
    assert (project.latest() / "coverage" / "html" / "index.html").is_file()
