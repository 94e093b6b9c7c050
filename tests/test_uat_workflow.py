"""What QA engineers do with uat runs: select scenarios, rerun failures, sign off manual checks."""

from __future__ import annotations

import json
import re

import pytest

from tests.conftest import Project, add_acceptance_stages, gate_outcomes

pytestmark = pytest.mark.slow

MANUAL_ITEM = "notifications.feature::A mention wakes a locked phone"


def junit_case_names(project: Project) -> list[str]:
    junit = (project.latest() / "junit" / "uat.xml").read_text()
    return re.findall(r'<testcase [^>]*name="([^"]+)"', junit)


def test_tag_selection(project: Project) -> None:
    result = project.harness("run", "uat", "--tags", "@smoke and not @critical")
    assert result.returncode == 0, result.stdout + result.stderr
    assert sorted(junit_case_names(project)) == [
        "test_a_registered_user_logs_in[api]",
        "test_a_wrong_password_is_rejected[api]",
    ]


def test_invalid_tag_filter(project: Project) -> None:
    result = project.harness("run", "uat", "--tags", "smoke")
    assert result.returncode == 2
    assert "invalid tag filter 'smoke'" in result.stderr


def test_rerun_only_failures(project: Project) -> None:
    faults = project.write("faults.toml", '[routes."POST /api/login"]\nerror_rate = 1\n')
    assert (
        project.harness("run", "uat", "--faults", str(faults), "--tags", "@smoke").returncode == 1
    )
    failed = junit_case_names(project)

    rerun = project.harness("run", "uat", "--rerun-failed")
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert sorted(junit_case_names(project)) == sorted(failed)

    nothing = project.harness("run", "uat", "--rerun-failed")
    assert nothing.returncode == 2
    assert "has no failed scenarios to rerun" in nothing.stderr


def test_manual_signoff_gates_promotion(project: Project) -> None:
    add_acceptance_stages(project)
    assert project.harness("run", "uat", "--build", "b-55").returncode == 0
    sheet = json.loads((project.latest() / "signoff" / "sheet.json").read_text())
    assert [item["item_id"] for item in sheet["items"]] == [MANUAL_ITEM]
    assert MANUAL_ITEM.split("::")[1] not in " ".join(junit_case_names(project))

    unsigned = project.harness("promote", "--run", "latest", "--to", "signoff")
    assert unsigned.returncode == 1
    assert "1 manual items are not signed off for build b-55" in unsigned.stdout

    wrong_build = project.harness(
        "signoff", "--run", "latest", "--item", MANUAL_ITEM, "--result", "pass", "--build", "b-54"
    )
    assert wrong_build.returncode == 2
    assert "sign-off is for build b-54" in wrong_build.stderr

    signed = project.harness(
        "signoff",
        "--run",
        "latest",
        "--item",
        MANUAL_ITEM,
        "--result",
        "pass",
        "--by",
        "Q. Engineer",
        "--comment",
        "seen on a Pixel 7",
    )
    assert signed.returncode == 0, signed.stderr

    promoted = project.harness("promote", "--run", "latest", "--to", "signoff")
    assert promoted.returncode == 0, promoted.stdout + promoted.stderr
    record = json.loads((project.latest() / "promotion-signoff.json").read_text())
    assert gate_outcomes(record)["uat-manual-signed"] == "PASS"
    allure = (project.latest() / "allure-results").glob("*-result.json")
    assert any("signed pass by Q. Engineer" in path.read_text() for path in allure)


def test_failed_signoff_fails_gate(project: Project) -> None:
    assert project.harness("run", "uat").returncode == 0
    listing = project.harness("signoff", "--run", "latest")
    assert listing.stdout.strip() == MANUAL_ITEM

    unknown = project.harness("signoff", "--run", "latest", "--item", "x", "--result", "pass")
    assert unknown.returncode == 2
    assert "unknown manual item 'x'" in unknown.stderr

    project.harness("signoff", "--run", "latest", "--item", MANUAL_ITEM, "--result", "fail")
    regate = project.harness("gate", "--run", "latest", "--stage", "production")
    assert regate.returncode == 1
    assert gate_outcomes(project.verdict())["uat-manual-signed"] == "FAIL"


def test_compatibility_matrix_page(project: Project) -> None:
    assert project.harness("run", "uat", "--build", "b-9").returncode == 0
    output = project.root / "docs" / "matrix.md"
    result = project.harness("matrix", "--output", str(output))
    assert result.returncode == 0, result.stderr
    page = output.read_text()
    assert "build b-9, environment local" in page
    assert "| scenario | api |" in page
    assert "| two users exchange messages in realtime | passed |" in page
    assert "gaps: none" in page

    missing = project.harness("matrix", "--run", "no-such-run")
    assert missing.returncode == 2
