"""Sessions of the harness: one per suite, plus the harness's own tests and static checks.

Every session reuses its virtual environment, so a second run only checks the installed packages,
and passes `session.posargs` to the command it wraps: `nox -s uat -- --env staging`.
"""

from __future__ import annotations

from pathlib import Path

import nox

nox.options.default_venv_backend = "uv|virtualenv"
nox.options.reuse_venv = "yes"
nox.options.sessions = ["uat", "unit", "tests"]

PYTHON = "3.11"
ALLURE = Path("node_modules/.bin/allure")
APPIUM = Path("node_modules/appium/package.json")


def install_node_tools(session: nox.Session) -> None:
    """Install the pinned Node packages (Allure 3 CLI, Appium and its drivers) from the lock."""
    if not (ALLURE.exists() and APPIUM.exists()):
        session.run("npm", "ci", "--no-audit", "--no-fund", external=True)


def run_harness(session: nox.Session, extras: str, *command: str, node: bool = False) -> None:
    """Install the harness with `extras` (and the Node tools if `node`), then run the command.

    The session's own arguments follow the command: nox -s uat -- --env staging.
    """
    session.install("-e", f".[{extras}]")
    if node:
        install_node_tools(session)
    session.run("harness", *command, *session.posargs)


def uses_mobile_channel(posargs: list[str]) -> bool:
    channels = [posargs[i + 1] for i, arg in enumerate(posargs[:-1]) if arg == "--channel"]
    channels += [arg.split("=", 1)[1] for arg in posargs if arg.startswith("--channel=")]
    return any("mobile" in value.split(",") for value in channels)


@nox.session(python=PYTHON)
def uat(session: nox.Session) -> None:
    """Run the acceptance scenarios against an environment (default: local) and gate them."""
    if uses_mobile_channel(session.posargs):
        run_harness(session, "uat,device", "run", "uat", node=True)
    else:
        run_harness(session, "uat", "run", "uat")


@nox.session(python=PYTHON)
def unit(session: nox.Session) -> None:
    """Run the unit tests in parallel under coverage (default env: local) and gate them."""
    run_harness(session, "unit", "run", "unit")


@nox.session(python=PYTHON)
def device(session: nox.Session) -> None:
    """Run the device suite through the project's Appium on the local profiles; needs Node.js."""
    # The dev stage has no device gates, so the device stage is the default here.
    run_harness(session, "device", "run", "device", "--stage", "device", node=True)


@nox.session(python=PYTHON)
def load(session: nox.Session) -> None:
    """Hold a load profile of chat users with Locust and gate it: -- --env local --profile smoke.

    The peak profile (10,000 users) needs about 6 minutes, both cores and about 2 GiB of memory.
    """
    # Every runner is imported when the harness starts, so every suite's extra is installed.
    run_harness(session, "all", "run", "load")


@nox.session(python=PYTHON)
def gate(session: nox.Session) -> None:
    """Run every suite the stage's gates need into one run and print the verdict (CI's gate job)."""
    run_harness(session, "all", "gate", node=True)


@nox.session(python=PYTHON)
def merge(session: nox.Session) -> None:
    """Merge the shard runs of a suite into one run and gate it: nox -s merge -- RUN RUN ..."""
    # The merge recomputes every sharded suite's metrics, so it needs the uat and unit extras.
    run_harness(session, "uat,unit", "merge")


@nox.session(python=PYTHON)
def promote(session: nox.Session) -> None:
    """Record a run's promotion: nox -s promote -- --run latest --to staging."""
    run_harness(session, "all", "promote")


@nox.session(python=PYTHON)
def e2e(session: nox.Session) -> None:
    """Run the browser tests of the web client per browser project; needs Chromium (see README)."""
    run_harness(session, "e2e", "run", "e2e")


@nox.session(python=PYTHON)
def contract(session: nox.Session) -> None:
    """Test an environment's API against its OpenAPI document with schemathesis, and gate it."""
    run_harness(session, "contract", "run", "contract")


@nox.session(python=PYTHON)
def security(session: nox.Session) -> None:
    """Run bandit on the code, and DAST and TLS checks on an environment, and gate them."""
    run_harness(session, "security", "run", "security")


@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    """Run the harness's own tests under coverage; fails below 90% line coverage of harness/."""
    session.install("-e", ".[dev]")
    install_node_tools(session)
    session.run("coverage", "erase")
    # allure-pytest and allure-pytest-bdd (both installed by the device extra) define the same
    # --alluredir option; the harness's own tests need neither.
    no_allure = ["-p", "no:allure_pytest", "-p", "no:allure_pytest_bdd"]
    session.run("coverage", "run", "-m", "pytest", "-n", "2", *no_allure, *session.posargs)
    session.run("coverage", "combine", "--quiet")
    session.run("coverage", "report")


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """Check style with ruff and types with mypy."""
    session.install("-e", ".[dev]")
    session.run("ruff", "check", "harness", "scenarios", "suites", "tests", "noxfile.py")
    session.run("mypy")


@nox.session(python=PYTHON)
def report(session: nox.Session) -> None:
    """Build a run's Allure report with its trend: -- --run latest [--single-file] [--serve]."""
    run_harness(session, "all", "report", node=True)
