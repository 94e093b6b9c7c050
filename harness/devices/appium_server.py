"""The Appium server of a run: one the harness starts on loopback, or a grid or device farm.

A local server is the project's own Appium (node_modules/, pinned in package-lock.json) with
APPIUM_HOME set to the project, so it finds the drivers that package.json pins. It listens on a
free 127.0.0.1 port, gets its own TMPDIR (Chromium's scoped profile folders land there and would
otherwise pile up in /tmp), and is stopped by its PID when the run ends, also on failure and
interrupt. The TMPDIR is removed after the server has stopped.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shlex
import shutil
import subprocess
import tempfile
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from harness.config.environment import AppiumServer, Environment
from harness.devices.doctor import appium_entry_point, check_appium_installation
from harness.errors import Problem, UsageError
from harness.logs import SECRET_MASK
from harness.process import stop_child
from harness.target import pick_free_port

__all__ = ["AppiumEndpoint", "list_sessions", "open_appium"]

log = logging.getLogger(__name__)

HOST = "127.0.0.1"
POLL_INTERVAL_S = 0.2
STOP_TIMEOUT_S = 15.0
# Listing the server's sessions is an insecure feature in Appium 3. It is acceptable here because
# the server listens on loopback only, and the harness needs it to prove no session is left.
INSECURE_FEATURES = "*:session_discovery"
# Appium logs request bodies, and the mobile channel hands the client its login reply, which
# contains the session token. This rule for Appium's --log-filters masks the token in the log.
LOG_FILTERS = [{"pattern": r'\\?"token\\?"\s*:\s*\\?"[^"\\]+', "replacer": '"token":"***'}]


@dataclass(frozen=True)
class AppiumEndpoint:
    """A reachable Appium server; `scratch_dir` is the TMPDIR of a local one, else "".

    A grid's credentials stay in the environment variables named here, so that the endpoint can
    be written into the run folder without them.
    """

    url: str
    local: bool
    new_command_timeout_s: int
    scratch_dir: str = ""
    username_env: str = ""
    access_key_env: str = ""

    def authenticated_url(self) -> str:
        """Return the URL with the grid's credentials read from their variables, if any."""
        user = os.environ.get(self.username_env, "") if self.username_env else ""
        key = os.environ.get(self.access_key_env, "") if self.access_key_env else ""
        if not (user or key):
            return self.url
        parts = urllib.parse.urlsplit(self.url)
        netloc = f"{urllib.parse.quote(user)}:{urllib.parse.quote(key)}@{parts.netloc}"
        return urllib.parse.urlunsplit(parts._replace(netloc=netloc))


@dataclass
class LocalAppium:
    """The project's Appium server as a child process on loopback."""

    root: Path
    log_file: Path
    port: int
    scratch_dir: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def command(self) -> list[str]:
        node = shutil.which("node") or "node"
        command = [node, str(appium_entry_point(self.root)), "server"]
        command += ["--address", HOST, "--port", str(self.port)]
        command += ["--allow-insecure", INSECURE_FEATURES, "--log-no-colors", "--log-timestamp"]
        command += ["--log-filters", str(self.write_log_filters())]
        return command

    def write_log_filters(self) -> Path:
        path = self.scratch_dir / "log-filters.json"
        path.write_text(json.dumps(LOG_FILTERS), encoding="utf-8")
        return path

    def start(self, timeout_s: float) -> None:
        command = self.command()
        # Appium caches the absolute paths of its drivers under APPIUM_HOME, so the home must be
        # the real folder holding node_modules, not a path through a symbolic link to it.
        home = (self.root / "node_modules").resolve().parent
        env = dict(os.environ, APPIUM_HOME=str(home), TMPDIR=str(self.scratch_dir))
        log.info("starting Appium: %s", shlex.join(command))
        with self.log_file.open("ab") as output:
            self.process = subprocess.Popen(
                command, cwd=self.root, env=env, stdout=output, stderr=subprocess.STDOUT
            )
        self.wait_until_ready(timeout_s)

    def wait_until_ready(self, timeout_s: float) -> None:
        assert self.process is not None
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise UsageError(Problem.APPIUM_FAILED, {"reason": self.failure_reason()})
            if server_ready(self.url):
                pid = self.process.pid
                log.info("Appium ready at %s (pid %d, TMPDIR %s)", self.url, pid, self.scratch_dir)
                return
            time.sleep(POLL_INTERVAL_S)
        reason = f"timed out after {timeout_s:g} s waiting for /status; see {self.log_file}"
        raise UsageError(Problem.APPIUM_FAILED, {"reason": reason})

    def failure_reason(self) -> str:
        assert self.process is not None
        lines = self.log_file.read_text(errors="replace").strip().splitlines()
        last = lines[-1] if lines else "no output"
        return f"exit code {self.process.returncode}: {last}; see {self.log_file}"

    def stop(self) -> None:
        """Stop the server by its PID: SIGTERM, then SIGKILL if it does not exit in time."""
        if self.process is not None:
            stop_child(self.process, "Appium", STOP_TIMEOUT_S)
        shutil.rmtree(self.scratch_dir, ignore_errors=True)


def server_ready(url: str) -> bool:
    with contextlib.suppress(httpx.HTTPError, ValueError):
        response = httpx.get(f"{url}/status", timeout=2.0)
        return response.status_code == 200 and bool(response.json()["value"].get("ready", True))
    return False


def list_sessions(url: str) -> list[str]:
    """Return the ids of the sessions on a local server (needs session_discovery)."""
    response = httpx.get(f"{url}/appium/sessions", timeout=10.0)
    response.raise_for_status()
    return [str(session["id"]) for session in response.json()["value"]]


@contextlib.contextmanager
def open_appium(environment: Environment, root: Path, logs_dir: Path) -> Iterator[AppiumEndpoint]:
    """Yield the environment's Appium server; a local one is started here and stopped on exit."""
    settings = environment.appium
    if not settings.local:
        yield remote_endpoint(settings, environment.name)
        return

    check_appium_installation(root)
    scratch = Path(tempfile.mkdtemp(prefix="harness-appium-"))
    server = LocalAppium(root, logs_dir / "appium.log", pick_free_port(HOST), scratch)
    try:
        server.start(settings.startup_timeout_s)
        yield AppiumEndpoint(server.url, True, settings.new_command_timeout_s, str(scratch))
    finally:
        server.stop()


def remote_endpoint(settings: AppiumServer, environment: str) -> AppiumEndpoint:
    """Check that the grid's URL and credential variables are set; the values stay in them."""
    path = f"environments/{environment}.toml"
    if settings.url is not None:
        url = str(settings.url)
    else:
        url = required_variable(str(settings.url_env), "Appium grid URL", path, "appium.url_env")
    for variable, key in [
        (settings.username_env, "appium.username_env"),
        (settings.access_key_env, "appium.access_key_env"),
    ]:
        if variable is not None:
            SECRET_MASK.add([required_variable(variable, "Appium grid credential", path, key)])
    return AppiumEndpoint(
        url.rstrip("/"),
        False,
        settings.new_command_timeout_s,
        username_env=settings.username_env or "",
        access_key_env=settings.access_key_env or "",
    )


def required_variable(variable: str, purpose: str, path: str, key: str) -> str:
    value = os.environ.get(variable, "")
    if not value:
        raise UsageError(
            Problem.MISSING_SECRET,
            {"variable": variable, "purpose": purpose, "path": path, "key": key},
        )
    return value
