"""Fixtures of the e2e suite: a browser per project, logged-in pages, and evidence on failure.

Each test runs once per runnable project that the harness wrote to HARNESS_E2E_PROJECTS. Pages
get the session injected into the client's storage, so no password is typed; on failure a
screenshot, a Playwright trace and the console log go to Allure and to HARNESS_E2E_ARTIFACTS.
"""

from __future__ import annotations

import os
import re
import uuid
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import allure
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, sync_playwright

from harness.channels.browser import block_non_loopback, log_in_over_api
from harness.channels.projects import ProjectPlan, context_options, launch_project, read_plans
from harness.channels.webclient import storage_state
from harness.pytest_plugin import TargetInfo

TIMEOUT_MS = 15_000
TOKEN = re.compile(r'"token":\s*"([^"]+)"')


def runnable_plans() -> list[ProjectPlan]:
    path = os.environ.get("HARNESS_E2E_PROJECTS", "")
    if not path:
        pytest.exit("HARNESS_E2E_PROJECTS is not set; run this suite with: harness run e2e", 2)
    return [plan for plan in read_plans(Path(path)) if plan.runnable]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "plan" in metafunc.fixturenames:
        plans = runnable_plans()
        metafunc.parametrize("plan", plans, ids=[plan.name for plan in plans], scope="session")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Iterator[None]:
    report: pytest.TestReport = yield
    if report.failed:
        item.stash[FAILED] = True
    return report


FAILED = pytest.StashKey[bool]()


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as instance:
        yield instance


@pytest.fixture(scope="session")
def browser(playwright: Playwright, plan: ProjectPlan) -> Iterator[Browser]:
    launched = launch_project(playwright, plan)
    yield launched
    launched.close()


@dataclass
class Evidence:
    """What a test's pages produced, kept until the test's outcome is known."""

    folder: Path
    secrets: list[str] = field(default_factory=list)
    console: list[str] = field(default_factory=list)
    contexts: list[tuple[str, BrowserContext]] = field(default_factory=list)


@pytest.fixture
def evidence(request: pytest.FixtureRequest) -> Iterator[Evidence]:
    root = Path(os.environ.get("HARNESS_E2E_ARTIFACTS", "e2e-artifacts"))
    safe_name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
    collected = Evidence(root / f"{safe_name}-{uuid.uuid4().hex[:6]}")
    yield collected
    failed = request.node.stash.get(FAILED, False)
    for actor, context in collected.contexts:
        finish_context(collected, actor, context, failed)
    if failed:
        console = "\n".join(collected.console) + "\n"
        for secret in collected.secrets:
            console = console.replace(secret, "***")
        collected.folder.mkdir(parents=True, exist_ok=True)
        (collected.folder / "console.log").write_text(console, encoding="utf-8")
        allure.attach(console, name="console log", attachment_type=allure.attachment_type.TEXT)


def finish_context(evidence: Evidence, actor: str, context: BrowserContext, failed: bool) -> None:
    """Stop the trace, and on failure keep a screenshot and the trace with tokens removed."""
    if not failed:
        context.tracing.stop()
        context.close()
        return
    evidence.folder.mkdir(parents=True, exist_ok=True)
    for index, page in enumerate(context.pages):
        screenshot = evidence.folder / f"{actor}-{index}.png"
        page.screenshot(path=screenshot, full_page=True)
        allure.attach.file(screenshot, name=f"screenshot {actor}", extension="png")
    trace = evidence.folder / f"{actor}-trace.zip"
    context.tracing.stop(path=trace)
    redact_zip(trace, evidence.secrets)
    allure.attach.file(trace, name=f"trace {actor}", extension="zip")
    context.close()


def redact_zip(path: Path, secrets: list[str]) -> None:
    """Replace every secret in every member of a zip file, because traces record request headers."""
    with zipfile.ZipFile(path) as archive:
        members = [(info, archive.read(info)) for info in archive.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for info, data in members:
            for secret in secrets:
                data = data.replace(secret.encode(), b"***")
            archive.writestr(info, data)


@dataclass
class ClientFactory:
    """Opens the web client for an actor in a new browser context of the project's browser."""

    playwright: Playwright
    browser: Browser
    plan: ProjectPlan
    target: TargetInfo
    evidence: Evidence

    def session_json(self, actor: str) -> str:
        account = self.target.account(actor)
        session = log_in_over_api(
            self.target.base_url, account.username, account.password, self.target.request_timeout_s
        )
        self.evidence.secrets.extend(TOKEN.findall(session))
        return session

    def new_context(self, actor: str, session_json: str | None) -> BrowserContext:
        options = context_options(self.playwright, self.plan)
        if session_json is not None:
            options["storage_state"] = storage_state(self.target.base_url, session_json)
        context = self.browser.new_context(**options)
        context.set_default_timeout(TIMEOUT_MS)
        block_non_loopback(context)
        context.tracing.start(screenshots=True, snapshots=True)
        self.evidence.contexts.append((actor, context))
        return context

    def open(self, actor: str, logged_in: bool = True, query: str = "") -> Page:
        """Open the client as `actor`, logged in through the API unless `logged_in` is False."""
        context = self.new_context(actor, self.session_json(actor) if logged_in else None)
        page = context.new_page()
        page.on("console", lambda message: self.evidence.console.append(
            f"{actor} {message.type}: {message.text}"
        ))
        page.on("pageerror", lambda error: self.evidence.console.append(f"{actor} error: {error}"))
        page.goto(f"{self.target.base_url}/{query}")
        page.wait_for_function("() => document.body.dataset.ready === 'true'")
        return page


@pytest.fixture
def client(
    playwright: Playwright,
    browser: Browser,
    plan: ProjectPlan,
    harness_target: TargetInfo,
    evidence: Evidence,
) -> ClientFactory:
    return ClientFactory(playwright, browser, plan, harness_target, evidence)


@pytest.fixture
def unique() -> Callable[[str], str]:
    """Return a function that makes a name unique to this test, so tests never share rooms."""
    suffix = uuid.uuid4().hex[:8]
    return lambda name: f"e2e-{name}-{suffix}"
