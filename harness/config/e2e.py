"""e2e.toml: the browser projects the e2e suite runs on, and how often a failed test is retried."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import pydantic

from harness.config.loader import StrictModel, load_toml_model
from harness.errors import Problem, UsageError

__all__ = ["E2eConfig", "Project", "load_e2e_config"]

MAX_RETRIES = 3

ProjectName = Annotated[str, pydantic.StringConstraints(pattern=r"^[a-z][a-z0-9-]*$")]


class Project(StrictModel):
    """One browser configuration: a browser engine, optionally emulating a device."""

    name: ProjectName
    browser: Literal["chromium", "firefox", "webkit"]
    # A device name from Playwright's device list, such as "Pixel 7"; its viewport, user agent,
    # scale factor and touch support are applied to the browser.
    device: str = ""

    @property
    def metric_key(self) -> str:
        return self.name.replace("-", "_")


class E2eConfig(StrictModel):
    """The whole e2e.toml."""

    # A test that fails is run again up to this many times; passing on a retry counts as flaky.
    retries: Annotated[int, pydantic.Field(ge=0, le=MAX_RETRIES)] = 1
    # A Chromium executable; HARNESS_CHROMIUM overrides it, and empty means find one.
    chromium_path: str = ""
    projects: Annotated[list[Project], pydantic.Field(min_length=1)]


def load_e2e_config(path: Path) -> E2eConfig:
    """Load e2e.toml; raise UsageError for a bad value or two projects with one name."""
    config = load_toml_model(path, E2eConfig)
    names = [project.name for project in config.projects]
    for index, name in enumerate(names):
        if name in names[:index]:
            reason = f"project name {name!r} is used twice; give each project its own name"
            key = f"projects.{index}.name"
            raise UsageError(Problem.INVALID_VALUE, {"path": path, "key": key, "reason": reason})
    return config
