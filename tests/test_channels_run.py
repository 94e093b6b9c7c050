"""Scenarios on the api, web and desktop channels side by side, and the parity matrix."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from harness.channels.browser import is_loopback_url
from harness.reporting.parity import parity_from_junit, write_parity
from tests.conftest import Project

JUNIT = """<testsuites><testsuite name="uat">
<testcase classname="scenarios.test_scenarios" name="test_login[api]"/>
<testcase classname="scenarios.test_scenarios" name="test_login[web]"><failure/></testcase>
<testcase classname="scenarios.test_scenarios" name="test_history[api]"/>
<testcase classname="scenarios.test_scenarios" name="test_history[web]"/>
<testcase classname="scenarios.test_scenarios" name="test_helper"/>
</testsuite></testsuites>
"""


@pytest.mark.slow
def test_scenarios_pass_on_all_channels(project: Project) -> None:
    result = project.harness("run", "uat", "--channel", "api,web,desktop")
    assert result.returncode == 0, result.stdout + result.stderr

    run = project.latest()
    junit = (run / "junit" / "uat.xml").read_text()
    assert len(re.findall(r"<testcase ", junit)) == 21
    parity = json.loads((run / "parity.json").read_text())
    assert parity["channels"] == ["api", "web", "desktop"]
    assert parity["gaps"] == []
    assert len(parity["outcomes"]) == 7
    assert (
        "| a registered user logs in | passed | passed | passed |"
        in (run / "parity.md").read_text()
    )
    allure = run / "allure-results"
    parity_results = [p for p in allure.glob("*-result.json") if "uat.parity" in p.read_text()]
    assert len(parity_results) == 1
    assert len(list(allure.glob("*-attachment.md"))) == 1


def test_parity_matrix_shows_gap(tmp_path: Path) -> None:
    junit = tmp_path / "uat.xml"
    junit.write_text(JUNIT)

    matrix = parity_from_junit(junit)
    write_parity(tmp_path, tmp_path / "allure", matrix)

    assert matrix.channels == ["api", "web"]
    assert matrix.gaps() == ["login"]
    assert "| login | passed | failed |" in (tmp_path / "parity.md").read_text()
    assert "gaps: login" in (tmp_path / "parity.md").read_text()
    result = json.loads(next((tmp_path / "allure").glob("*-result.json")).read_text())
    assert result["status"] == "failed"


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("http://127.0.0.1:8000/api/rooms", True),
        ("http://[::1]:8000/", True),
        ("http://localhost/", True),
        ("data:text/plain,hi", True),
        ("https://example.com/", False),
        ("http://10.0.0.1/", False),
    ],
)
def test_only_loopback_requests_allowed(url: str, allowed: bool) -> None:
    assert is_loopback_url(url) is allowed
