"""The Allure results of a real run render with the real Allure 3 command-line tool."""

from __future__ import annotations

import json
import subprocess

import pytest

from tests.conftest import PROJECT, Project

pytestmark = pytest.mark.slow

ALLURE = PROJECT / "node_modules" / ".bin" / "allure"


def test_allure_renders_run(project: Project) -> None:
    assert ALLURE.exists(), "the Allure CLI is missing; install it with: npm ci"
    assert project.harness("run", "uat").returncode == 0
    results = project.latest() / "allure-results"
    output = project.root / "allure-report"

    subprocess.run(
        [str(ALLURE), "generate", str(results), "--output", str(output)],
        check=True,
        capture_output=True,
        timeout=300,
    )

    summary = json.loads((output / "summary.json").read_text())
    assert summary["stats"] == {"total": 9, "passed": 9}
    assert (output / "index.html").is_file()
