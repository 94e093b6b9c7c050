"""The e2e suite's browser matrix: which projects can run here, and how to launch them."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, BrowserType, Error, Playwright, sync_playwright

from harness.channels.base import BrowserUnavailable
from harness.channels.browser import launch_chromium, resolve_chromium
from harness.config.e2e import E2eConfig, Project
from harness.errors import Problem, UsageError

__all__ = [
    "ProjectPlan",
    "check_projects",
    "context_options",
    "launch_project",
    "plan_projects",
    "read_plans",
    "write_plans",
]


@dataclass(frozen=True)
class ProjectPlan:
    """A project as this machine can run it; `not_run_reason` is set when it cannot."""

    name: str
    metric_key: str
    browser: str
    device: str
    executable: str = ""
    not_run_reason: str = ""

    @property
    def runnable(self) -> bool:
        return not self.not_run_reason


def engines(playwright: Playwright) -> dict[str, BrowserType]:
    return {
        "chromium": playwright.chromium,
        "firefox": playwright.firefox,
        "webkit": playwright.webkit,
    }


def plan_project(
    playwright: Playwright, project: Project, index: int, config: E2eConfig, path: Path
) -> ProjectPlan:
    """Plan one project; raise UsageError for an unknown device, BrowserUnavailable for Chromium."""
    if project.device and project.device not in playwright.devices:
        reason = f"unknown device {project.device!r}; use a name from Playwright's device list"
        key = f"projects.{index}.device"
        raise UsageError(Problem.INVALID_VALUE, {"path": path, "key": key, "reason": reason})
    plan = ProjectPlan(project.name, project.metric_key, project.browser, project.device)
    if project.browser == "chromium":
        executable = resolve_chromium(playwright, config.chromium_path)
        return ProjectPlan(**{**asdict(plan), "executable": str(executable)})
    if not Path(engines(playwright)[project.browser].executable_path).is_file():
        reason = (
            f"Playwright's {project.browser} build is not installed; "
            f"install it with: python -m playwright install {project.browser}"
        )
        return ProjectPlan(**{**asdict(plan), "not_run_reason": reason})
    return plan


def plan_projects(config: E2eConfig, path: Path) -> list[ProjectPlan]:
    """Plan every configured project without launching a browser."""
    with sync_playwright() as playwright:
        return [
            plan_project(playwright, project, index, config, path)
            for index, project in enumerate(config.projects)
        ]


def launch_project(playwright: Playwright, plan: ProjectPlan) -> Browser:
    """Launch the project's browser headless; raise BrowserUnavailable if it does not start."""
    if plan.browser == "chromium":
        return launch_chromium(playwright, Path(plan.executable))
    try:
        return engines(playwright)[plan.browser].launch(headless=True)
    except Error as error:
        raise BrowserUnavailable(f"{plan.browser} did not start: {error}") from None


def check_projects(plans: list[ProjectPlan]) -> None:
    """Launch and close the browser of each runnable project once, as the suite's preflight."""
    with sync_playwright() as playwright:
        for plan in plans:
            if plan.runnable:
                launch_project(playwright, plan).close()


def context_options(playwright: Playwright, plan: ProjectPlan) -> dict[str, Any]:
    """Return browser-context options that emulate the project's device, if it names one."""
    if not plan.device:
        return {}
    descriptor = dict(playwright.devices[plan.device])
    # The descriptor names the engine the device ships with (WebKit for an iPhone); the project's
    # own browser decides that, so only the viewport, user agent, scale and touch are applied.
    descriptor.pop("default_browser_type", None)
    return descriptor


def write_plans(path: Path, plans: list[ProjectPlan]) -> None:
    path.write_text(json.dumps([asdict(plan) for plan in plans], indent=2) + "\n", "utf-8")


def read_plans(path: Path) -> list[ProjectPlan]:
    return [ProjectPlan(**entry) for entry in json.loads(path.read_text("utf-8"))]
