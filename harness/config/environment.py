"""Environment files: where the system under test is, how to log in, and how careful to be."""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path
from typing import Annotated, Self

import pydantic

from harness.config.loader import StrictModel, load_toml_model
from harness.errors import Problem, UsageError

__all__ = [
    "Account",
    "AppiumServer",
    "Environment",
    "Target",
    "environment_names",
    "load_environment",
]

ENVIRONMENT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")
EnvVarName = Annotated[str, pydantic.StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]


class Account(StrictModel):
    """A scenario actor's login; the password is read from an environment variable at run time."""

    username: str
    password_env: EnvVarName


class Target(StrictModel):
    """The deployment under test: either the embedded service the harness starts, or a URL."""

    embedded: bool = False
    host: str = "127.0.0.1"
    port: Annotated[int, pydantic.Field(ge=0, le=65535)] = 0
    faults_file: str | None = None
    base_url: pydantic.AnyHttpUrl | None = None
    base_url_env: EnvVarName | None = None
    realtime_url: pydantic.AnyUrl | None = None
    startup_timeout_s: Annotated[float, pydantic.Field(gt=0, le=600)] = 30.0
    request_timeout_s: Annotated[float, pydantic.Field(gt=0, le=300)] = 10.0

    @pydantic.model_validator(mode="after")
    def check_one_location(self) -> Self:
        remote = self.base_url is not None or self.base_url_env is not None
        if self.embedded == remote:
            raise ValueError("set either embedded = true or one of base_url / base_url_env")
        if self.embedded and not is_loopback(self.host):
            raise ValueError(f"the embedded service listens on loopback only, not {self.host!r}")
        return self


class AppiumServer(StrictModel):
    """Where device sessions run: an Appium server the harness starts, or a grid or device farm."""

    local: bool = True
    url: pydantic.AnyHttpUrl | None = None
    url_env: EnvVarName | None = None
    username_env: EnvVarName | None = None
    access_key_env: EnvVarName | None = None
    startup_timeout_s: Annotated[float, pydantic.Field(gt=0, le=600)] = 120.0
    # Appium ends a session that received no command for this long, so a killed client's
    # session does not hold its device or browser until the server stops.
    new_command_timeout_s: Annotated[int, pydantic.Field(gt=0, le=3600)] = 60

    @pydantic.model_validator(mode="after")
    def check_one_location(self) -> Self:
        remote = self.url is not None or self.url_env is not None
        if self.local == remote:
            raise ValueError("set either local = true or local = false with one of url / url_env")
        return self


class Environment(StrictModel):
    """One named target environment, read from environments/<name>.toml."""

    name: str = ""
    description: str = ""
    sensitive: bool = False
    stage: str = "dev"
    target: Target
    accounts: dict[str, Account] = pydantic.Field(default_factory=dict)
    appium: AppiumServer = pydantic.Field(default_factory=AppiumServer)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def environment_names(root: Path) -> list[str]:
    return sorted(path.stem for path in (root / "environments").glob("*.toml"))


def load_environment(name: str, root: Path) -> Environment:
    """Load environments/<name>.toml under `root`; raise UsageError for unknown or invalid files."""
    path = root / "environments" / f"{name}.toml"
    if not ENVIRONMENT_NAME.match(name) or not path.is_file():
        choices = ", ".join(environment_names(root)) or "(none)"
        raise UsageError(
            Problem.UNKNOWN_ENVIRONMENT,
            {"name": name, "path": path, "choices": choices},
        )
    environment = load_toml_model(path, Environment)
    return environment.model_copy(update={"name": name})
