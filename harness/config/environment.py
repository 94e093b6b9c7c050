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
    "ContractSettings",
    "Environment",
    "SecuritySettings",
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


class Environment(StrictModel):
    """One named target environment, read from environments/<name>.toml."""

    name: str = ""
    description: str = ""
    sensitive: bool = False
    stage: str = "dev"
    target: Target
    accounts: dict[str, Account] = pydantic.Field(default_factory=dict)
    contract: ContractSettings = pydantic.Field(default_factory=ContractSettings)
    security: SecuritySettings = pydantic.Field(default_factory=SecuritySettings)


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
