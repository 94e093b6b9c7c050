"""Bad input and faults: one clear line, exit code 2 or 130, no traceback, nothing lost."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import Project, free_port, gate_outcomes

pytestmark = pytest.mark.slow


def assert_one_line_error(result: subprocess.CompletedProcess[str], *fragments: str) -> str:
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("harness: error: ")
    for fragment in fragments:
        assert fragment in last
    return last


def test_unknown_environment(project: Project) -> None:
    result = project.harness("run", "uat", "--env", "qa7")
    assert_one_line_error(result, "unknown environment 'qa7'", "local, production, staging")
    assert result.stderr.count("\n") == 1
    assert project.runs() == []


def test_malformed_toml(project: Project) -> None:
    project.write("environments/local.toml", "[target\nembedded = true\n")
    result = project.harness("run", "uat")
    assert_one_line_error(result, "local.toml: invalid TOML")
    assert project.runs() == []


def test_key_of_wrong_type(project: Project) -> None:
    path = project.root / "environments" / "local.toml"
    path.write_text(path.read_text().replace("port = 0", 'port = "any"'))
    result = project.harness("run", "uat")
    assert_one_line_error(result, "local.toml: key target.port:", "'any'")


def test_missing_base_url_variable(project: Project) -> None:
    env = {"STAGING_BASE_URL": ""}
    result = project.harness("run", "uat", "--env", "staging", env=env)
    assert_one_line_error(result, "STAGING_BASE_URL is not set", "target.base_url_env")


def test_missing_password_variable(project: Project, agent_chat: str) -> None:
    env = {"STAGING_BASE_URL": agent_chat, "STAGING_ALICE_PASSWORD": "", "STAGING_BOB_PASSWORD": ""}
    result = project.harness("run", "uat", "--env", "staging", env=env)
    assert_one_line_error(
        result, "STAGING_ALICE_PASSWORD is not set", "accounts.alice.password_env"
    )


def test_unreachable_target(project: Project) -> None:
    env = {
        "STAGING_BASE_URL": f"http://127.0.0.1:{free_port()}",
        "STAGING_ALICE_PASSWORD": "x",
        "STAGING_BOB_PASSWORD": "y",
    }
    result = project.harness("run", "uat", "--env", "staging", env=env)
    assert_one_line_error(result, "is unreachable", "check the variable STAGING_BASE_URL")
    assert project.manifest()["status"] == "error"


def test_remote_build_mismatch(project: Project, agent_chat: str) -> None:
    env = {
        "STAGING_BASE_URL": agent_chat,
        "STAGING_ALICE_PASSWORD": "x",
        "STAGING_BOB_PASSWORD": "y",
    }
    result = project.harness("run", "uat", "--env", "staging", "--build", "other", env=env)
    assert_one_line_error(result, "reports build remote-1", "--build other")


def test_port_taken(project: Project) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        result = project.harness("run", "uat", "--port", str(port))
    assert_one_line_error(result, f"port {port} on 127.0.0.1 is already in use")


def test_scenario_syntax_error(project: Project) -> None:
    project.write("scenarios/broken.feature", "Feature: x\n  Scenario: y\n    Given z\n  Oops\n")
    result = project.harness("run", "uat")
    assert_one_line_error(result, "broken.feature:4: invalid Gherkin", "'Oops'")
    assert project.runs() == []


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["run", "uat", "--bogus"], "unrecognized arguments: --bogus"),
        (["run", "unit-ish"], "invalid choice: 'unit-ish'"),
        (["run", "uat", "--channel", "fax"], "unknown channel 'fax'"),
        (["run", "uat", "--stage", "qa"], "unknown stage 'qa'"),
        (["run", "uat", "--faults", "/nonexistent.toml"], "fault file /nonexistent.toml not found"),
        (["gate", "--run", "no-such-run"], "run 'no-such-run' not found"),
        (["run", "unit", "--workers", "-1"], "'-1' is neither 'auto' nor a whole number"),
        (["run", "unit", "--reruns", "many"], "'many' is not a whole number from 0 to 10"),
        (["run", "uat", "--workers", "2"], "--workers and --reruns apply to the unit suite only"),
        (
            ["run", "unit", "--faults", "x.toml"],
            "--faults applies to suites that start the service",
        ),
    ],
)
def test_bad_flags(project: Project, args: list[str], fragment: str) -> None:
    assert_one_line_error(project.harness(*args), fragment)


def test_bad_fault_file_stops_service_start(project: Project) -> None:
    faults = project.write("bad-faults.toml", "[routes.'*']\nerror_rate = 3\n")
    result = project.harness("run", "uat", "--faults", str(faults))
    assert_one_line_error(result, "failed to start", "error_rate")


def test_interrupted_run(project: Project) -> None:
    earlier = project.reports / "runs" / "20200101T000000Z-000000"
    earlier.mkdir(parents=True)
    (earlier / "run.json").write_text('{"kept": true}\n')

    slow = project.write("slow.toml", "[routes.'*']\nlatency_ms = 1500\n")
    command = [sys.executable, "-m", "harness", "--root", str(project.root), "run", "uat"]
    child = subprocess.Popen(
        [*command, "--faults", str(slow)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    wait_for_suite_start(project, child)
    child.send_signal(signal.SIGINT)
    stdout, stderr = child.communicate(timeout=120)

    assert child.returncode == 130, stdout + stderr
    assert "Traceback" not in stderr
    assert "interrupted" in stderr.strip().splitlines()[-1]
    assert (earlier / "run.json").read_text() == '{"kept": true}\n'
    run = project.latest()
    assert project.manifest(run)["status"] == "interrupted"
    assert_no_process(service_pid(stderr))

    regate = project.harness("gate", "--run", run.name)
    assert regate.returncode == 1
    assert set(gate_outcomes(project.verdict(run)).values()) == {"NO_EVIDENCE"}
    assert "is interrupted, not completed" in regate.stdout


def wait_for_suite_start(
    project: Project, child: subprocess.Popen[str], timeout_s: float = 60
) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert child.poll() is None, "the run ended before it could be interrupted"
        logs = list((project.reports / "runs").glob("*/logs/uat.log"))
        if logs and "test_scenarios.py" in logs[0].read_text():
            return
        time.sleep(0.2)
    raise AssertionError("the uat suite did not start in time")


def service_pid(stderr: str) -> int:
    match = re.search(r"embedded service ready at \S+ \(pid (\d+)\)", stderr)
    assert match, stderr
    return int(match.group(1))


def assert_no_process(pid: int) -> None:
    status = Path(f"/proc/{pid}/status")
    if status.exists():
        assert "zombie" in status.read_text() or not status.exists()
    else:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


def test_missing_ingest_file(project: Project) -> None:
    project.write(
        "environments/ci.toml", '[target]\nembedded = true\n\n[unit]\ncoverage_xml = "no.xml"\n'
    )
    result = project.harness("run", "unit", "--env", "ci")
    assert_one_line_error(result, "ci.toml: key unit.coverage_xml: file", "no.xml not found")
    assert project.runs() == []


def test_missing_checkout(project: Project) -> None:
    command = '["t", "{junit_xml}", "{coverage_xml}"]'
    text = f'[target]\nembedded = true\n\n[unit]\ncheckout = "gone"\ncommand = {command}\n'
    project.write("environments/ext.toml", text)
    result = project.harness("run", "unit", "--env", "ext")
    assert_one_line_error(result, "ext.toml: key unit.checkout: checkout", "is not a folder")
