"""Checks that the tools a device run needs are installed, each with the command that fixes it.

`harness doctor device` prints every finding; a device run's preflight stops at the first one.
"""

from __future__ import annotations

import functools
import json
import logging
import re
import shlex
import shutil
import subprocess
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from harness.devices.profiles import Driver
from harness.errors import Problem, UsageError

__all__ = [
    "CHROMEDRIVER",
    "CHROMIUM",
    "Finding",
    "appium_entry_point",
    "check_appium_installation",
    "check_drivers",
    "doctor_findings",
]

log = logging.getLogger(__name__)

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
# Appium 3 requires Node.js ^20.19.0 || ^22.12.0 || >=24.0.0; 20.19 is the lowest it accepts.
MIN_NODE = (20, 19)
NPM_CI = "npm ci (in the project folder; it installs the versions in package-lock.json)"
APT_CHROMIUM = "apt-get update && apt-get install -y chromium chromium-driver"
NODE_INSTALL = (
    "apt-get install -y nodejs from the NodeSource 20.x repository "
    "(Appium 3 needs Node.js 20.19 or newer with npm; Debian 12's own nodejs is 18)"
)
DRIVER_PACKAGES = {
    Driver.CHROMIUM: "appium-chromium-driver",
    Driver.FAKE: "@appium/fake-driver",
}
VERSION_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class Finding:
    """A missing or unusable tool and the command that installs it."""

    tool: str
    reason: str
    command: str

    def line(self) -> str:
        return Problem.MISSING_DEVICE_TOOL.value.format(
            tool=self.tool, reason=self.reason, command=self.command
        )

    def error(self) -> UsageError:
        values: dict[str, object] = {
            "tool": self.tool,
            "reason": self.reason,
            "command": self.command,
        }
        return UsageError(Problem.MISSING_DEVICE_TOOL, values)


def appium_entry_point(root: Path) -> Path:
    return root / "node_modules" / "appium" / "index.js"


def tool_version(command: list[str]) -> str:
    """Return the first version number `command` prints, or "" when it fails."""
    log.debug("running: %s", shlex.join(command))
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=VERSION_TIMEOUT_S, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        log.debug("%s failed: %s", command[0], error)
        return ""
    match = re.search(r"(\d+)\.(\d+)(\.\d+)*", done.stdout)
    return match.group(0) if match else ""


def check_node() -> Finding | None:
    node = shutil.which("node")
    if node is None:
        return Finding("node", "no `node` on PATH", NODE_INSTALL)
    version = tool_version([node, "--version"])
    major_minor = tuple(int(part) for part in version.split(".")[:2]) if version else (0, 0)
    if major_minor < MIN_NODE:
        return Finding("node", f"{node} is version {version or 'unknown'}", NODE_INSTALL)
    if shutil.which("npm") is None:
        return Finding("npm", "no `npm` on PATH", NODE_INSTALL)
    return None


def check_npm_package(root: Path, package: str) -> Finding | None:
    manifest = root / "node_modules" / package / "package.json"
    if not manifest.is_file():
        return Finding(f"npm package {package}", f"{manifest} not found", NPM_CI)
    wanted = pinned_version(root, package)
    installed = str(json.loads(manifest.read_text(encoding="utf-8")).get("version", ""))
    if wanted and installed != wanted:
        reason = f"version {installed} is installed but package.json pins {wanted}"
        return Finding(f"npm package {package}", reason, NPM_CI)
    return None


def pinned_version(root: Path, package: str) -> str:
    path = root / "package.json"
    if not path.is_file():
        return ""
    data = json.loads(path.read_text(encoding="utf-8"))
    pins = {**data.get("dependencies", {}), **data.get("devDependencies", {})}
    return str(pins.get(package, ""))


def check_chromium() -> Finding | None:
    for path in (CHROMIUM, CHROMEDRIVER):
        if not path.is_file():
            return Finding(path.name, f"{path} not found", APT_CHROMIUM)
    browser = tool_version([str(CHROMIUM), "--version"]).split(".")[0]
    driver = tool_version([str(CHROMEDRIVER), "--version"]).split(".")[0]
    if browser != driver:
        reason = (
            f"chromium {browser or '?'} and chromedriver {driver or '?'} differ in major version"
        )
        return Finding("chromedriver", reason, APT_CHROMIUM)
    return None


def findings_for(root: Path, drivers: Iterable[Driver]) -> list[Callable[[], Finding | None]]:
    """List the checks a local run with these drivers needs, cheapest and most basic first."""
    checks: list[Callable[[], Finding | None]] = [check_node]
    checks.append(functools.partial(check_npm_package, root, "appium"))
    for driver in sorted(set(drivers)):
        if driver in DRIVER_PACKAGES:
            checks.append(functools.partial(check_npm_package, root, DRIVER_PACKAGES[driver]))
    if Driver.CHROMIUM in drivers:
        checks.append(check_chromium)
    return checks


def doctor_findings(root: Path, drivers: Iterable[Driver]) -> list[Finding]:
    """Run every check for these drivers and return what is missing."""
    results = [check() for check in findings_for(root, list(drivers))]
    return [finding for finding in results if finding is not None]


def check_appium_installation(root: Path) -> None:
    """Raise UsageError for a missing node or Appium package, before a server is started."""
    check_drivers(root, [])


def check_drivers(root: Path, drivers: Iterable[Driver]) -> None:
    """Raise UsageError naming the first missing tool for a local run with these drivers."""
    for check in findings_for(root, list(drivers)):
        finding = check()
        if finding is not None:
            raise finding.error()
