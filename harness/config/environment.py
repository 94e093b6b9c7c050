"""Environment files: where the system under test is, how to log in, and how careful to be."""

from __future__ import annotations

import enum
import ipaddress
import re
import string
from pathlib import Path
from typing import Annotated, Self

import pydantic

from harness.config.loader import StrictModel, load_toml_model
from harness.errors import Problem, UsageError

__all__ = [
    "Account",
    "AppiumServer",
    "ContractSettings",
    "Environment",
    "SecuritySettings",
    "Target",
    "UnitMode",
    "UnitSettings",
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
    # Every instance behind the load balancer, each polled directly by verify-deploy; a
    # comma-separated list in the named variable.
    instances_env: EnvVarName | None = None
    # The candidate ("green") deployment of a blue-green release, tested with --candidate.
    candidate_url_env: EnvVarName | None = None
    # HTTPS: the embedded service serves tls_certfile and tls_keyfile, and clients verify the
    # server against ca_file (default: the system's trust store). Relative paths are from the root.
    tls_certfile: str | None = None
    tls_keyfile: str | None = None
    ca_file: str | None = None
    # The variable that contains the service's token-signing key. The harness generates it for
    # the embedded service per run, and the security suite forges an expired token with it.
    token_secret_env: EnvVarName | None = None

    @pydantic.model_validator(mode="after")
    def check_one_location(self) -> Self:
        remote = self.base_url is not None or self.base_url_env is not None
        if self.embedded == remote:
            raise ValueError("set either embedded = true or one of base_url / base_url_env")
        if self.embedded and not is_loopback(self.host):
            raise ValueError(f"the embedded service listens on loopback only, not {self.host!r}")
        if (self.tls_certfile is None) != (self.tls_keyfile is None):
            raise ValueError("set both tls_certfile and tls_keyfile, or neither")
        if self.tls_certfile is not None and not self.embedded:
            raise ValueError("tls_certfile applies only to the embedded service")
        return self


class UnitMode(enum.StrEnum):
    """Source of the unit suite's evidence."""

    EMBEDDED = "embedded"  # suites/unit against sut/agent_chat, run by the harness
    COMMAND = "command"  # another product's checkout, run with its own command
    INGEST = "ingest"  # reports that another CI already produced; nothing runs


# Placeholders the [unit] command may contain; the runner replaces them with run folder paths.
COMMAND_PLACEHOLDERS = frozenset(
    {"junit_xml", "coverage_xml", "coverage_data", "alluredir", "workers"}
)
MAX_WORKERS = 64


def placeholders_in(command: list[str]) -> set[str]:
    """Return the names of the {placeholders} in the command's arguments."""
    names: set[str] = set()
    for argument in command:
        names.update(field for _, field, _, _ in string.Formatter().parse(argument) if field)
    return names


class UnitSettings(StrictModel):
    """The [unit] table: how the unit suite runs, or which existing reports it ingests instead.

    Paths are relative to the project root. With no checkout, command or report the harness runs
    suites/unit against sut/agent_chat.
    """

    workers: str | int = "auto"
    reruns: Annotated[int, pydantic.Field(ge=0, le=10)] = 0
    checkout: str | None = None
    command: Annotated[list[str], pydantic.Field(min_length=1)] | None = None
    junit_xml: str | None = None
    coverage_xml: str | None = None
    coverage_data: str | None = None

    @pydantic.field_validator("workers")
    @classmethod
    def check_workers(cls, workers: str | int) -> str | int:
        if workers == "auto" or (isinstance(workers, int) and 0 <= workers <= MAX_WORKERS):
            return workers
        raise ValueError(f"workers must be 'auto' or a whole number from 0 to {MAX_WORKERS}")

    @pydantic.field_validator("command")
    @classmethod
    def check_placeholders(cls, command: list[str] | None) -> list[str] | None:
        if command is None:
            return None
        try:
            names = placeholders_in(command)
        except ValueError as error:
            raise ValueError(f"invalid placeholder: {error}") from None
        unknown = names - COMMAND_PLACEHOLDERS
        if unknown:
            choices = ", ".join(sorted(COMMAND_PLACEHOLDERS))
            raise ValueError(f"unknown placeholder {sorted(unknown)[0]!r}; use one of: {choices}")
        if "junit_xml" not in names:
            raise ValueError("the command must write JUnit XML to {junit_xml}")
        if len(names & {"coverage_xml", "coverage_data"}) != 1:
            raise ValueError(
                "the command must write coverage to exactly one of {coverage_xml} (Cobertura XML) "
                "or {coverage_data} (coverage.py data)"
            )
        return command

    @pydantic.model_validator(mode="after")
    def check_one_mode(self) -> Self:
        reports = [self.junit_xml, self.coverage_xml, self.coverage_data]
        if (self.checkout is None) != (self.command is None):
            raise ValueError("set checkout and command together, or neither")
        if self.command is not None and any(reports):
            raise ValueError("set either checkout and command, or report files to ingest, not both")
        if self.coverage_xml is not None and self.coverage_data is not None:
            raise ValueError("set either coverage_xml or coverage_data, not both")
        if self.junit_xml is not None and self.coverage_xml is self.coverage_data is None:
            raise ValueError("junit_xml alone gives no coverage; add coverage_xml or coverage_data")
        return self

    @property
    def mode(self) -> UnitMode:
        if self.command is not None:
            return UnitMode.COMMAND
        if self.coverage_xml is not None or self.coverage_data is not None:
            return UnitMode.INGEST
        return UnitMode.EMBEDDED


class ContractSettings(StrictModel):
    """Settings of the contract suite: the OpenAPI document's location, the login and the bounds."""

    # A path on the base URL, or an absolute http(s) URL.
    openapi_url: str = "/openapi.json"
    login_path: str = "/api/login"
    # The actor whose account logs in, the JSON pointer of the token in the login response, and
    # the OpenAPI security scheme the token is sent for.
    actor: str = "alice"
    token_pointer: str = "/token"  # noqa: S105 - a JSON pointer, not a token
    security_scheme: str = "HTTPBearer"
    max_examples: Annotated[int, pydantic.Field(ge=1, le=10_000)] = 25
    # With None, schemathesis stops after max_examples per operation. With a budget, it fuzzes
    # until the budget is spent.
    max_time_s: Annotated[int, pydantic.Field(ge=1, le=3600)] | None = None
    seed: int | None = None


class SecuritySettings(StrictModel):
    """Bounds of the security suite's probes against the running environment."""

    # Failed logins the brute-force probe sends at most before it expects a 429.
    max_login_attempts: Annotated[int, pydantic.Field(ge=2, le=200)] = 30
    web_client_path: str = "/"


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
    unit: UnitSettings = pydantic.Field(default_factory=UnitSettings)
    contract: ContractSettings = pydantic.Field(default_factory=ContractSettings)
    security: SecuritySettings = pydantic.Field(default_factory=SecuritySettings)
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
