"""A stage run: suites that test code run beside suites that test the target, and stop together."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import Project, gate_outcomes
from tests.test_bad_input import assert_no_process
from tests.test_unit_run import path_with_python

pytestmark = pytest.mark.slow

# An external unit test command. It reads the run's manifest next to its JUnit file and passes
# only if it sees the uat suite running or done while it runs itself, which can happen only when
# the two suites run side by side (uat comes after unit in the serial order). With "sleep" it
# writes its PID and waits to be stopped.
TOOL = """
import json
import os
import sys
import time
from pathlib import Path

mode, junit, coverage = sys.argv[1:4]
run = Path(junit).parent.parent
Path(coverage).write_text(
    '<coverage lines-valid="1" lines-covered="1"><packages/></coverage>'
)
if mode == "sleep":
    (run.parent.parent.parent / "unit-tool.pid").write_text(str(os.getpid()))
    time.sleep(300)
seen = ""
for _ in range(1200):
    suites = json.loads((run / "run.json").read_text())["suites"]
    seen = suites.get("uat", {}).get("outcome", "")
    if seen:
        break
    time.sleep(0.1)
case = '<testcase classname="side" name="test_uat_seen"/>'
if not seen:
    case = case[:-2] + '><failure message="uat never started"/></testcase>'
Path(junit).write_text("<testsuites><testsuite name='side'>" + case + "</testsuite></testsuites>")
sys.exit(0 if seen else 1)
"""

MIXED_STAGE = """
[stages.mixed]
description = "Acceptance scenarios and unit tests"

[[stages.mixed.gates]]
name = "uat-scenarios-passed"
metric = "uat.scenarios.failed"
comparison = "=="
threshold = 0

[[stages.mixed.gates]]
name = "unit-tests-passed"
metric = "unit.tests.failed"
comparison = "=="
threshold = 0
"""


def mixed_project(project: Project, mode: str) -> None:
    checkout = project.root / "tool"
    checkout.mkdir()
    (checkout / "tool.py").write_text(TOOL)
    command = ["python", "tool.py", mode, "{junit_xml}", "{coverage_xml}"]
    local = project.root / "environments" / "local.toml"
    unit = f'\n[unit]\ncheckout = "tool"\ncommand = {json.dumps(command)}\n'
    local.write_text(local.read_text() + unit)
    gates = project.root / "gates.toml"
    gates.write_text(gates.read_text() + MIXED_STAGE)


def test_unit_runs_beside_uat(project: Project) -> None:
    mixed_project(project, "watch")
    result = project.harness("gate", "--env", "local", "--stage", "mixed", env=path_with_python())

    assert result.returncode == 0, result.stdout + result.stderr
    outcomes = gate_outcomes(project.verdict())
    assert outcomes == {"uat-scenarios-passed": "PASS", "unit-tests-passed": "PASS"}
    suites = project.manifest()["suites"]
    assert isinstance(suites, dict)
    assert suites["unit"]["outcome"] == "passed"
    assert suites["uat"]["outcome"] == "passed"


def wait_for_file(path: Path, child: subprocess.Popen[str], timeout_s: float = 120) -> str:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert child.poll() is None, "the run ended before it could be interrupted"
        if path.is_file() and path.read_text():
            return path.read_text()
        time.sleep(0.2)
    raise AssertionError(f"{path} was not written in time")


def test_interrupt_stops_both_groups(project: Project) -> None:
    mixed_project(project, "sleep")
    command = [sys.executable, "-m", "harness", "--root", str(project.root), "gate"]
    child = subprocess.Popen(
        [*command, "--env", "local", "--stage", "mixed"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ, **path_with_python()),
    )
    tool_pid = int(wait_for_file(project.root / "unit-tool.pid", child))
    child.send_signal(signal.SIGINT)
    stdout, stderr = child.communicate(timeout=120)

    assert child.returncode == 130, stdout + stderr
    assert "Traceback" not in stderr
    assert_no_process(tool_pid)
    manifest = project.manifest()
    assert manifest["status"] == "interrupted"
    suites = manifest["suites"]
    assert isinstance(suites, dict)
    assert suites["unit"]["outcome"] == "interrupted"
