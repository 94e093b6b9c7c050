"""Real device runs: the project's Appium, Debian's Chromium and the fake driver, end to end."""

from __future__ import annotations

import json
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from harness.metrics import metric_key
from tests.conftest import PROJECT, Project, gate_outcomes

pytestmark = pytest.mark.slow

CANARY_PASSWORD = "canary-Mobile-pa55word-never-in-evidence"
INTERRUPT_TIMEOUT_S = 180.0


@pytest.fixture
def device_project(project: Project) -> Project:
    """The project copy plus the device profiles and the Node packages."""
    # The project fixture already copies suites/, including suites/device.
    shutil.copytree(PROJECT / "devices", project.root / "devices")
    shutil.copy(PROJECT / "package.json", project.root / "package.json")
    (project.root / "node_modules").symlink_to(PROJECT / "node_modules")
    return project


def metrics_of(run: Path) -> dict[str, dict[str, object]]:
    data = json.loads((run / "metrics" / "device.json").read_text())
    return {metric_key(m["name"], m.get("labels", {})): m for m in data["metrics"]}


def appium_details(run: Path) -> tuple[str, int, Path]:
    """Return the URL, PID and TMPDIR of the run's Appium server, from the run's log."""
    log = (run / "logs" / "harness.log").read_text()
    match = re.search(r"Appium ready at (\S+) \(pid (\d+), TMPDIR (\S+)\)", log)
    assert match, log
    return match.group(1), int(match.group(2)), Path(match.group(3))


def assert_gone(pid: int, scratch: Path) -> None:
    status = Path(f"/proc/{pid}/status")
    assert not status.exists() or "zombie" in status.read_text(), f"Appium pid {pid} lives on"
    assert not scratch.exists(), f"{scratch} was left behind"


def test_local_matrix_passes_and_cleans_up(device_project: Project) -> None:
    result = device_project.harness("run", "device", "--stage", "device")
    assert result.returncode == 0, result.stdout + result.stderr
    run = device_project.latest()

    metrics = metrics_of(run)
    assert metrics["device.sessions"]["exact"] == "8"
    assert metrics["device.sessions.crashed"]["exact"] == "0"
    assert metrics["device.crash_free_rate"]["exact"] == "1"
    assert metrics["device.sessions.leaked"]["exact"] == "0"
    assert metrics["device.tests.failed"]["exact"] == "0"
    assert set(gate_outcomes(device_project.verdict()).values()) == {"PASS"}

    _url, pid, scratch = appium_details(run)
    assert_gone(pid, scratch)
    appium_log = (run / "logs" / "appium.log").read_text()
    assert "There are no active sessions for cleanup" in appium_log

    devices = set()
    for path in (run / "allure-results").glob("*-result.json"):
        data = json.loads(path.read_text())
        if data["name"].startswith("test_login_shows_general_room"):
            devices |= {p["value"] for p in data["parameters"] if p["name"] == "device"}
    assert devices == {"'chromium-pixel'", "'chromium-iphone'"}


def test_crash_lowers_rate_and_fails_gate(device_project: Project) -> None:
    result = device_project.harness(
        "run",
        "device",
        "--stage",
        "device",
        "--devices",
        "chromium-pixel",
        "--select",
        "crash or general",
        env={"HARNESS_DEVICE_CRASH_DRILL": "1"},
    )
    assert result.returncode == 1, result.stdout + result.stderr
    metrics = metrics_of(device_project.latest())
    assert metrics["device.sessions"]["exact"] == "2"
    assert metrics["device.crash_free_rate"]["exact"] == "1/2"
    assert metrics['device.crash_free_rate{device="chromium-pixel"}']["exact"] == "1/2"
    outcomes = gate_outcomes(device_project.verdict())
    assert outcomes["device-crash-free"] == "FAIL"
    assert outcomes["device-tests-passed"] == "PASS"
    assert "blocking gates not passed: device-crash-free" in result.stdout

    sessions = json.loads((device_project.latest() / "device" / "sessions.json").read_text())
    crashed = [s for s in sessions["sessions"] if s["end"] == "crashed"]
    assert len(crashed) == 1
    assert "test_browser_crash_is_counted" in crashed[0]["test"]


def test_no_session_is_no_evidence(device_project: Project) -> None:
    result = device_project.harness(
        "run", "device", "--stage", "device", "--select", "no_test_has_this_name"
    )
    assert result.returncode == 1, result.stdout + result.stderr
    metrics = metrics_of(device_project.latest())
    assert metrics["device.sessions"]["exact"] == "0"
    assert metrics["device.crash_free_rate"]["exact"] is None
    outcomes = gate_outcomes(device_project.verdict())
    assert outcomes["device-crash-free"] == "NO_EVIDENCE"
    assert outcomes["device-sessions-started"] == "FAIL"


def test_sigterm_deletes_sessions(device_project: Project) -> None:
    command = [sys.executable, "-m", "harness", "--root", str(device_project.root), "run"]
    command += ["device", "--devices", "chromium-pixel", "--select", "api_user"]
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        url = wait_for_live_session(device_project, child)
        child.send_signal(signal.SIGTERM)
        stdout, stderr = child.communicate(timeout=INTERRUPT_TIMEOUT_S)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()

    assert child.returncode == 130, stdout + stderr
    assert "Traceback" not in stderr
    run = device_project.latest()
    _url, pid, scratch = appium_details(run)
    assert_gone(pid, scratch)
    appium_log = (run / "logs" / "appium.log").read_text()
    assert re.search(r"DELETE /session/\S+ 200", appium_log), f"no session deleted at {url}"
    assert "There are no active sessions for cleanup" in appium_log


def wait_for_live_session(project: Project, child: subprocess.Popen[str]) -> str:
    """Poll until the run's Appium server has a session; return the server's URL."""
    deadline = time.monotonic() + INTERRUPT_TIMEOUT_S
    while time.monotonic() < deadline:
        assert child.poll() is None, "the run ended before it could be interrupted"
        logs = list((project.reports / "runs").glob("*/logs/harness.log"))
        match = re.search(r"Appium ready at (\S+)", logs[0].read_text()) if logs else None
        if match and sessions_on(match.group(1)):
            return match.group(1)
        time.sleep(0.1)
    raise AssertionError("no Appium session started in time")


def sessions_on(url: str) -> list[object]:
    try:
        sessions: list[object] = httpx.get(f"{url}/appium/sessions", timeout=5).json()["value"]
    except (httpx.HTTPError, ValueError, KeyError):
        return []
    return sessions


def test_scenarios_on_mobile_channel(device_project: Project) -> None:
    result = device_project.harness(
        "run", "uat", "--channel", "mobile", env={"AGENT_CHAT_SEED_PASSWORD": CANARY_PASSWORD}
    )
    assert result.returncode == 0, result.stdout + result.stderr
    run = device_project.latest()
    junit = (run / "junit" / "uat.xml").read_text()
    assert len(re.findall(r"<testcase ", junit)) == 7
    assert "[mobile]" in junit

    assert json.loads((run / "device" / "leaked-sessions.json").read_text()) == {"sessions": []}
    appium_log = (run / "logs" / "appium.log").read_text()
    assert '"token":"***' in appium_log
    assert re.search(r'"token":"(?!\*\*\*)', appium_log) is None, "a session token is in the log"
    _url, pid, scratch = appium_details(run)
    assert_gone(pid, scratch)
    leaks = [
        path.name
        for path in run.rglob("*")
        if path.is_file() and CANARY_PASSWORD.encode() in path.read_bytes()
    ]
    assert leaks == []


def test_farm_profile_rejected_on_local_appium(device_project: Project) -> None:
    result = device_project.harness("run", "device", "--devices", "android-pixel")
    assert result.returncode == 2, result.stdout + result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert "device profile 'android-pixel' needs the UiAutomator2 driver" in last
    assert "local.toml" in last
    assert device_project.runs() == []


def test_unknown_device_rejected(device_project: Project) -> None:
    result = device_project.harness("run", "uat", "--channel", "mobile", "--devices", "nokia")
    assert result.returncode == 2
    assert "unknown device profile or set 'nokia'" in result.stderr
    assert device_project.runs() == []


def test_doctor_names_missing_tools(device_project: Project, tmp_path: Path) -> None:
    ok = device_project.harness("doctor", "device")
    assert ok.returncode == 0, ok.stderr
    assert "is installed" in ok.stdout

    (device_project.root / "node_modules").unlink()
    missing = device_project.harness("doctor", "device")
    assert missing.returncode == 2
    assert "npm package appium is missing" in missing.stderr
    assert "npm ci" in missing.stderr

    no_node = device_project.harness("doctor", "device", env={"PATH": str(tmp_path)})
    assert "node is missing: no `node` on PATH" in no_node.stderr
    assert "NodeSource" in no_node.stderr


def test_missing_app_file_rejected(device_project: Project) -> None:
    (device_project.root / "devices" / "apps" / "agent-chat.xml").unlink()
    result = device_project.harness("run", "device", "--devices", "fake-app")
    assert result.returncode == 2
    assert "fake-app.toml: key app: app file" in result.stderr
    assert device_project.runs() == []
