"""Real `harness run e2e` runs against the embedded service: projects, gates, failure evidence."""

from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path

import pytest

from tests.conftest import Project, gate_outcomes

pytestmark = pytest.mark.slow

CANARY_PASSWORD = "canary-Pa55word-never-in-e2e-evidence"
TOKEN = re.compile(rb"v1\.\d+\.\d+\.[A-Za-z0-9_-]{43}")


def file_contents(folder: Path) -> dict[str, bytes]:
    """Every file under `folder`, with each zip member (a trace's files) listed on its own."""
    contents = {}
    for path in folder.rglob("*"):
        if not path.is_file():
            continue
        contents[str(path)] = path.read_bytes()
        if path.suffix == ".zip":
            with zipfile.ZipFile(path) as archive:
                for name in archive.namelist():
                    contents[f"{path}!{name}"] = archive.read(name)
    return contents


def test_production_gates_need_missing_browsers(project: Project) -> None:
    result = project.harness("run", "e2e", "--stage", "production", "--select", "installable")
    assert result.returncode == 1, result.stdout + result.stderr

    outcomes = gate_outcomes(project.verdict())
    assert outcomes["e2e-tests-executed"] == "PASS"
    assert outcomes["e2e-tests-passed"] == "PASS"
    assert outcomes["e2e-firefox-passed"] == "NO_EVIDENCE"
    assert outcomes["e2e-webkit-passed"] == "NO_EVIDENCE"
    assert "python -m playwright install firefox" in result.stdout
    assert "not run (browser not installed): firefox, webkit" in result.stdout

    run = project.latest()
    summary = json.loads((run / "e2e" / "results.json").read_text())
    assert summary["projects"]["pixel-7"] == {"passed": 1, "failed": 0, "flaky": 0}
    assert "not run" in summary["projects"]["webkit"]
    by_key = project.metrics("e2e", run)
    assert by_key["e2e.passed"]["exact"] == "3"
    assert by_key["e2e.iphone_14.passed"]["exact"] == "1"
    assert by_key['e2e.passed{project="iphone-14"}']["exact"] == "1"
    assert by_key["e2e.projects.not_run"]["exact"] == "2"
    assert by_key["e2e.firefox.passed"]["exact"] is None
    assert by_key['e2e.passed{project="firefox"}']["exact"] is None


def test_broken_client_fails_with_evidence(project: Project) -> None:
    config = project.root / "e2e.toml"
    config.write_text(config.read_text().replace("retries = 1", "retries = 0"))
    faults = str(project.root / "sut" / "faults" / "broken-send.toml")
    env = {"AGENT_CHAT_SEED_PASSWORD": CANARY_PASSWORD}

    result = project.harness("run", "e2e", "--faults", faults, "--select", "assistant", env=env)

    assert result.returncode == 1, result.stdout + result.stderr
    assert "verdict FAIL: blocking gates not passed: e2e-tests-passed" in result.stdout
    run = project.latest()
    allure = run / "allure-results"
    assert len(list(allure.glob("*-attachment.png"))) == 3
    assert len(list(allure.glob("*-attachment.zip"))) == 3
    traces = list((run / "e2e" / "artifacts").rglob("*-trace.zip"))
    assert len(traces) == 3
    with zipfile.ZipFile(traces[0]) as archive:
        assert any(name.endswith(".trace") for name in archive.namelist())

    contents = file_contents(run)
    assert [name for name, data in contents.items() if CANARY_PASSWORD.encode() in data] == []
    browser_files = {
        name: data for name, data in contents.items() if "/e2e/" in name or "allure" in name
    }
    assert [name for name, data in browser_files.items() if TOKEN.search(data)] == []
    assert CANARY_PASSWORD not in result.stdout + result.stderr


def test_flaky_and_failed_counted_per_project() -> None:
    from harness.runners.e2e import Attempts

    attempts = Attempts()
    attempts.add({"m::test_a[chromium]": "failed", "m::test_b[chromium]": "failed"})
    attempts.add({"m::test_a[chromium]": "passed", "m::test_b[chromium]": "failed"})
    attempts.add({"m::test_a[pixel-7]": "passed", "m::test_c[pixel-7]": "skipped"})

    assert attempts.counts("chromium") == {"passed": 1, "failed": 1, "flaky": 1}
    assert attempts.counts("pixel-7") == {"passed": 1, "failed": 0, "flaky": 0}
    assert attempts.counts() == {"passed": 2, "failed": 1, "flaky": 1}


@pytest.mark.parametrize(
    ("text", "key"),
    [
        (
            'retries = 1\n[[projects]]\nname = "p"\nbrowser = "chromium"\ndevice = "Nokia 3310"\n',
            "projects.0.device",
        ),
        ('[[projects]]\nname = "p"\nbrowser = "lynx"\n', "projects.0.browser"),
        (
            '[[projects]]\nname = "p"\nbrowser = "chromium"\n[[projects]]\nname = "p"\n'
            'browser = "chromium"\n',
            "projects.1.name",
        ),
        ("retries = 9\nprojects = []\n", "retries"),
    ],
)
def test_bad_e2e_config_exits_2(project: Project, text: str, key: str) -> None:
    project.write("e2e.toml", text)

    result = project.harness("run", "e2e")

    assert result.returncode == 2, result.stdout + result.stderr
    assert f"e2e.toml: key {key}:" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert project.runs() == []


@pytest.mark.parametrize(
    ("suite", "chromium"),
    [
        (["e2e"], "/nonexistent/chromium"),
        (["uat", "--channel", "api,web"], "/nonexistent/chromium"),
        (["uat", "--channel", "desktop"], "/bin/false"),
    ],
)
def test_missing_browser_stops_before_run(
    project: Project, suite: list[str], chromium: str
) -> None:
    result = project.harness("run", *suite, env={"HARNESS_CHROMIUM": chromium})

    assert result.returncode == 2, result.stdout + result.stderr
    assert "cannot run" in result.stderr
    assert "apt-get install -y chromium" in result.stderr
    assert "Traceback" not in result.stderr
    assert project.runs() == []
