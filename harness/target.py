"""The system under test for one run: start the embedded service, or check a remote deployment.

The embedded Agent Chat service is started as a child process on a loopback port and stopped by its
PID when the run ends, including on failure and interrupt.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import shlex
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from harness.config.environment import Environment, Target
from harness.errors import Problem, UsageError
from harness.process import stop_child

__all__ = [
    "LOAD_SECRET_ENV",
    "Deployment",
    "TargetOptions",
    "open_target",
    "pick_free_port",
    "tls_verification",
    "untargeted_deployment",
]

log = logging.getLogger(__name__)

STOP_TIMEOUT_S = 10.0
POLL_INTERVAL_S = 0.1
# Load-test users log in with a password derived from this secret (sut/agent_chat/accounts.py).
LOAD_SECRET_ENV = "AGENT_CHAT_LOAD_SECRET"  # noqa: S105 - a variable name, not a secret
# The highest load-test account the embedded service accepts, load99999, so a profile's users
# fit whatever the number of Locust workers they are spread over.
EMBEDDED_LOAD_USERS = "100000"


@dataclass(frozen=True)
class TargetOptions:
    """Command-line overrides for the target; None keeps the environment file's value."""

    base_url: str | None = None
    port: int | None = None
    faults_file: Path | None = None
    build_id: str | None = None
    # Test the candidate ("green") deployment named by target.candidate_url_env, not the live one.
    candidate: bool = False


@dataclass(frozen=True)
class Deployment:
    """A reachable deployment and the build it reports on /version."""

    base_url: str
    realtime_url: str
    build_id: str
    version: str
    accounts: dict[str, dict[str, str]] = field(default_factory=dict)
    # The CA bundle that verifies the deployment's certificate; None means the system's.
    ca_file: str | None = None


def tls_verification(ca_file: str | None) -> ssl.SSLContext:
    """Return the client TLS context for a deployment: the system's trust store or `ca_file`."""
    return ssl.create_default_context(cafile=ca_file)


def resolve_file(value: str | None, environment_path: Path) -> str | None:
    """Resolve a path from an environment file against the project root above environments/."""
    if value is None:
        return None
    return str(environment_path.parent.parent / value)


def realtime_url_for(base_url: str, target: Target) -> str:
    if target.realtime_url is not None:
        return str(target.realtime_url).rstrip("/")
    scheme, rest = base_url.split("://", 1)
    return f"{'wss' if scheme == 'https' else 'ws'}://{rest}"


def read_version(
    base_url: str, timeout_s: float, advice: str, ca_file: str | None = None
) -> tuple[str, str]:
    """Return (build id, version) from /version, or raise UsageError for an unreachable target."""
    url = f"{base_url}/version"
    try:
        response = httpx.get(url, timeout=timeout_s, verify=tls_verification(ca_file))
        response.raise_for_status()
        data = response.json()
        return str(data["build"]), str(data["version"])
    except httpx.HTTPError as error:
        reason = str(error) or type(error).__name__
    except (ValueError, KeyError) as error:
        reason = f"/version returned no build and version ({error})"
    raise UsageError(Problem.UNREACHABLE_TARGET, {"url": url, "reason": reason, "advice": advice})


def resolve_remote_url(environment: Environment, options: TargetOptions, path: Path) -> str:
    target = environment.target
    if options.base_url:
        return options.base_url.rstrip("/")
    if options.candidate:
        return candidate_url(environment, path)
    if target.base_url is not None:
        return str(target.base_url).rstrip("/")
    variable = str(target.base_url_env)
    value = os.environ.get(variable, "")
    if not value:
        raise UsageError(
            Problem.MISSING_SECRET,
            {
                "variable": variable,
                "purpose": "base URL",
                "path": path,
                "key": "target.base_url_env",
            },
        )
    return value.rstrip("/")


def url_source(environment: Environment, options: TargetOptions, path: Path) -> str:
    """Name where the target's URL came from, so an unreachable target's message points there."""
    target = environment.target
    if options.base_url:
        return "--base-url"
    if options.candidate:
        return f"the variable {target.candidate_url_env} (target.candidate_url_env in {path})"
    if target.base_url is not None:
        return f"target.base_url in {path}"
    return f"the variable {target.base_url_env} (target.base_url_env in {path})"


def candidate_url(environment: Environment, path: Path) -> str:
    variable = environment.target.candidate_url_env
    if variable is None:
        reason = f"--candidate needs target.candidate_url_env in {path}"
        raise UsageError(Problem.BAD_ARGUMENT, {"reason": reason})
    value = os.environ.get(variable, "")
    if not value:
        raise UsageError(
            Problem.MISSING_SECRET,
            {
                "variable": variable,
                "purpose": "candidate URL",
                "path": path,
                "key": "target.candidate_url_env",
            },
        )
    return value.rstrip("/")


def account_secrets(environment: Environment, path: Path) -> dict[str, dict[str, str]]:
    """Map each actor to its username and the variable holding its password, checking it is set."""
    accounts = {}
    for actor, account in sorted(environment.accounts.items()):
        if not os.environ.get(account.password_env):
            raise UsageError(
                Problem.MISSING_SECRET,
                {
                    "variable": account.password_env,
                    "purpose": f"password of {actor}",
                    "path": path,
                    "key": f"accounts.{actor}.password_env",
                },
            )
        accounts[actor] = {"username": account.username, "password_env": account.password_env}
    return accounts


def check_port_free(host: str, port: int) -> None:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        try:
            probe.bind((host, port))
        except OSError:
            advice = "stop what holds it, or set target.port = 0 to pick a free port"
            raise UsageError(
                Problem.PORT_IN_USE, {"port": port, "host": host, "advice": advice}
            ) from None


def pick_free_port(host: str) -> int:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.bind((host, 0))
        port: int = probe.getsockname()[1]
        return port


def generate_missing_passwords(environment: Environment) -> None:
    """Give the seeded accounts and the load-test users a password secret when none is set.

    The password lives only in this process's environment and the service's, never in a file.
    The token-signing key named by target.token_secret_env is generated the same way.
    """
    variables = [account.password_env for account in environment.accounts.values()]
    variables += [environment.target.token_secret_env or ""]
    for variable in filter(None, variables):
        if not os.environ.get(variable):
            os.environ[variable] = secrets.token_urlsafe(18)
    # The load suite's Locust processes inherit the same variable, so the secret stays out of
    # files and command lines.
    if not os.environ.get(LOAD_SECRET_ENV):
        os.environ[LOAD_SECRET_ENV] = secrets.token_urlsafe(18)


@dataclass
class EmbeddedService:
    """The Agent Chat service as a child process on loopback."""

    host: str
    port: int
    workdir: Path
    environment: Environment
    faults_file: Path | None
    build_id: str
    tls_files: tuple[str, str] | None = None
    ca_file: str | None = None
    process: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        scheme = "https" if self.tls_files else "http"
        return f"{scheme}://{host}:{self.port}"

    def command(self) -> list[str]:
        command = [
            sys.executable,
            "-m",
            "agent_chat",
            "--host",
            self.host,
            "--port",
            str(self.port),
        ]
        command += ["--db", str(self.workdir / "agent_chat.db")]
        # The suites record every request themselves; a per-request access log would only cost
        # the service CPU under load.
        command += ["--no-access-log"]
        if self.faults_file is not None:
            command += ["--faults-file", str(self.faults_file)]
        if self.tls_files is not None:
            command += ["--ssl-certfile", self.tls_files[0], "--ssl-keyfile", self.tls_files[1]]
        return command

    def child_environment(self) -> dict[str, str]:
        child = dict(os.environ)
        child["AGENT_CHAT_BUILD_ID"] = self.build_id
        secret_env = self.environment.target.token_secret_env
        if secret_env:
            child["AGENT_CHAT_TOKEN_SECRET"] = os.environ[secret_env]
        child.setdefault("AGENT_CHAT_LOAD_USERS", EMBEDDED_LOAD_USERS)
        passwords = {account.password_env for account in self.environment.accounts.values()}
        if len(passwords) == 1:
            child["AGENT_CHAT_SEED_PASSWORD"] = os.environ[passwords.pop()]
        return child

    def start(self, timeout_s: float) -> None:
        command = self.command()
        log.info("starting embedded service: %s", shlex.join(command))
        log_file = (self.workdir / "service.log").open("ab")
        self.process = subprocess.Popen(
            command,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            env=self.child_environment(),
            start_new_session=True,
        )
        log_file.close()
        self.wait_until_healthy(timeout_s)

    def wait_until_healthy(self, timeout_s: float) -> None:
        assert self.process is not None
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise UsageError(Problem.SERVICE_FAILED, {"reason": self.failure_reason()})
            with contextlib.suppress(httpx.HTTPError):
                verify = tls_verification(self.ca_file)
                health = httpx.get(f"{self.base_url}/healthz", timeout=1.0, verify=verify)
                if health.status_code == 200:
                    log.info(
                        "embedded service ready at %s (pid %d)", self.base_url, self.process.pid
                    )
                    return
            time.sleep(POLL_INTERVAL_S)
        reason = f"not healthy after {timeout_s:g} s; see {self.workdir / 'service.log'}"
        raise UsageError(Problem.SERVICE_FAILED, {"reason": reason})

    def failure_reason(self) -> str:
        assert self.process is not None
        lines = (self.workdir / "service.log").read_text(errors="replace").strip().splitlines()
        last = lines[-1] if lines else "no output"
        return f"exit code {self.process.returncode}: {last}"

    def stop(self) -> None:
        """Stop the service by its PID: SIGTERM, then SIGKILL if it does not exit in time."""
        if self.process is not None:
            stop_child(self.process, "embedded service", STOP_TIMEOUT_S)


@contextlib.contextmanager
def open_target(
    environment: Environment, path: Path, options: TargetOptions, workdir: Path
) -> Iterator[Deployment]:
    """Yield a reachable deployment for the environment; an embedded one is stopped on exit."""
    target = environment.target
    if not target.embedded:
        base_url = resolve_remote_url(environment, options, path)
        accounts = account_secrets(environment, path)
        advice = f"check {url_source(environment, options, path)} and that the deployment is up"
        ca_file = resolve_file(target.ca_file, path)
        build_id, version = read_version(base_url, target.request_timeout_s, advice, ca_file)
        if options.build_id and options.build_id != build_id:
            raise UsageError(
                Problem.BUILD_MISMATCH,
                {"url": base_url, "actual": build_id, "expected": options.build_id},
            )
        realtime = realtime_url_for(base_url, target)
        yield Deployment(base_url, realtime, build_id, version, accounts, ca_file)
        return

    generate_missing_passwords(environment)
    accounts = account_secrets(environment, path)
    service = embedded_service(environment, options, workdir, path)
    try:
        service.start(target.startup_timeout_s)
        advice = f"see {workdir / 'service.log'}"
        timeout_s = target.request_timeout_s
        build_id, version = read_version(service.base_url, timeout_s, advice, service.ca_file)
        realtime = realtime_url_for(service.base_url, target)
        yield Deployment(service.base_url, realtime, build_id, version, accounts, service.ca_file)
    finally:
        service.stop()


def build_id_for(options: TargetOptions) -> str:
    return options.build_id or os.environ.get("HARNESS_BUILD_ID") or "local-dev"


def untargeted_deployment(options: TargetOptions) -> Deployment:
    """Describe the build for a suite that tests code rather than a running deployment.

    The build id follows the embedded service's rule: --build, else HARNESS_BUILD_ID, else
    "local-dev". There is no URL to reach.
    """
    return Deployment(base_url="", realtime_url="", build_id=build_id_for(options), version="")


def embedded_service(
    environment: Environment, options: TargetOptions, workdir: Path, path: Path
) -> EmbeddedService:
    target = environment.target
    port = options.port if options.port is not None else target.port
    if port:
        check_port_free(target.host, port)
    else:
        port = pick_free_port(target.host)
    faults = options.faults_file or (Path(target.faults_file) if target.faults_file else None)
    service = EmbeddedService(
        target.host, port, workdir, environment, faults, build_id_for(options)
    )
    certfile, keyfile = (
        resolve_file(target.tls_certfile, path),
        resolve_file(target.tls_keyfile, path),
    )
    if certfile is not None and keyfile is not None:
        service.tls_files = (certfile, keyfile)
    service.ca_file = resolve_file(target.ca_file, path)
    return service
