"""The built Allure report renders in real Chromium with the gates and the trend of three builds.

Every request that would leave the machine is aborted and counted in the JUnit property
blocked_requests: the Allure 3.18 awesome report loads Google Tag Manager, and works without it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest
from playwright.sync_api import Page, Route, sync_playwright

from harness.channels.browser import is_loopback_url, launch_chromium, resolve_chromium
from tests.conftest import Project
from tests.test_report import link_node_tools, listening_addresses, start_server, stop_server

pytestmark = pytest.mark.slow

GATE = "uat-scenarios-passed"
RecordProperty = Callable[[str, object], None]
PAGE_TIMEOUT_MS = 60_000


@dataclass
class LocalOnly:
    """A route handler that lets loopback and file:// requests through and aborts the rest."""

    blocked: list[str] = field(default_factory=list)

    def __call__(self, route: Route) -> None:
        url = route.request.url
        if url.startswith("file://") or is_loopback_url(url):
            route.continue_()
            return
        self.blocked.append(url)
        route.abort("blockedbyclient")


@pytest.fixture
def browser_page() -> Iterator[tuple[Page, LocalOnly]]:
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright, resolve_chromium(playwright))
        try:
            page = browser.new_page()
            page.set_default_timeout(PAGE_TIMEOUT_MS)
            local_only = LocalOnly()
            page.route("**/*", local_only)
            yield page, local_only
        finally:
            browser.close()


def show_gate(page: Page) -> None:
    """Filter the report's tree to the gate and open its groups (gates, then the stage)."""
    page.get_by_test_id("search-input").fill(GATE)
    groups = page.get_by_test_id("tree-section-title")
    groups.filter(has_text=re.compile(r"^gates$")).click()
    groups.filter(has_text=re.compile(r"^dev$")).click()


def status_dynamics(charts: dict[str, dict[str, object]]) -> list[dict[str, object]]:
    for chart in charts["general"].values():
        if chart["type"] == "statusDynamics":
            points = chart["data"]
            assert isinstance(points, list)
            return points
    raise AssertionError(f"no status dynamics chart among {list(charts['general'])}")


def test_report_shows_gates_and_trend(
    project: Project, browser_page: tuple[Page, LocalOnly], record_property: RecordProperty
) -> None:
    link_node_tools(project)
    for _ in range(3):
        assert project.harness("run", "uat").returncode == 0
        built = project.harness("report")
        assert built.returncode == 0, built.stderr
    history = (project.reports / "allure-history" / "local-dev.jsonl").read_text().splitlines()
    assert len(history) == 3

    page, local_only = browser_page
    server, url = start_server(project)
    try:
        assert listening_addresses(server.pid) == {"127.0.0.1"}
        page.goto(url)
        show_gate(page)
        gate = page.get_by_text(f"gate {GATE}: uat.scenarios.failed == 0")
        gate.wait_for(state="visible")
        page.get_by_text("Report", exact=True).first.click()
        with page.expect_response(lambda response: "widgets/charts.json" in response.url) as got:
            page.get_by_text("Graphs", exact=True).first.click()
        charts = got.value.json()
        page.get_by_text("Status dynamics").wait_for(state="visible")
    finally:
        assert stop_server(server) == 0

    # Two points are earlier builds read from the history file, and the third is the current build.
    points = status_dynamics(charts)
    assert len(points) == 3
    assert [point["name"] for point in points][-1] == "current"
    history = project.reports / "allure-history" / "local-dev.jsonl"
    assert len(history.read_text().splitlines()) == 3
    record_property("blocked_requests", len(local_only.blocked))


def test_single_file_report_opens_from_disk(
    project: Project, browser_page: tuple[Page, LocalOnly], record_property: RecordProperty
) -> None:
    link_node_tools(project)
    assert project.harness("run", "uat").returncode == 0

    built = project.harness("report", "--single-file")

    assert built.returncode == 0, built.stderr
    output = project.latest() / "allure-report-single-file"
    assert sorted(path.name for path in output.iterdir() if path.suffix in {".html", ".js"}) == [
        "index.html"
    ]
    page, local_only = browser_page
    page.goto((output / "index.html").as_uri())
    show_gate(page)
    page.get_by_text(f"gate {GATE}: uat.scenarios.failed == 0").wait_for(state="visible")
    page.get_by_text(f"run {project.latest().name}: build local-dev on local").wait_for()
    record_property("blocked_requests", len(local_only.blocked))
