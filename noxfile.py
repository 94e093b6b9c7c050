"""Sessions of the harness: one per suite, plus the harness's own tests and static checks.

Every session reuses its virtual environment, so a second run only checks the installed packages,
and passes `session.posargs` to the command it wraps: `nox -s uat -- --env staging`.
"""

from __future__ import annotations

from pathlib import Path

import nox

nox.options.default_venv_backend = "uv|virtualenv"
nox.options.reuse_venv = "yes"
nox.options.sessions = ["uat", "tests"]

PYTHON = "3.11"
ALLURE = Path("node_modules/.bin/allure")


def install_node_tools(session: nox.Session) -> None:
    """Install the pinned Node packages (the Allure 3 CLI) from package-lock.json once."""
    if not ALLURE.exists():
        session.run("npm", "ci", "--no-audit", "--no-fund", external=True)


@nox.session(python=PYTHON)
def uat(session: nox.Session) -> None:
    """Run the acceptance scenarios against an environment (default: local) and gate them."""
    session.install("-e", ".[uat]")
    session.run("harness", "run", "uat", *session.posargs)


@nox.session(python=PYTHON)
def load(session: nox.Session) -> None:
    """Hold a load profile of chat users with Locust and gate it: -- --env local --profile smoke.

    The peak profile (10,000 users) needs about 6 minutes, both cores and about 2 GiB of memory.
    """
    # Every runner is imported when the harness starts, so every suite's extra is installed.
    session.install("-e", ".[all]")
    session.run("harness", "run", "load", *session.posargs)


@nox.session(python=PYTHON)
def gate(session: nox.Session) -> None:
    """Run every suite the stage's gates need into one run and print the verdict (CI's gate job)."""
    session.install("-e", ".[all]")
    session.run("harness", "gate", *session.posargs)


@nox.session(python=PYTHON)
def promote(session: nox.Session) -> None:
    """Record a run's promotion: nox -s promote -- --run latest --to staging."""
    session.install("-e", ".[all]")
    session.run("harness", "promote", *session.posargs)


@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    """Run the harness's own tests under coverage; fails below 90% line coverage of harness/."""
    session.install("-e", ".[dev]")
    install_node_tools(session)
    session.run("coverage", "erase")
    session.run("coverage", "run", "-m", "pytest", "-n", "2", *session.posargs)
    session.run("coverage", "combine", "--quiet")
    session.run("coverage", "report")


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """Check style with ruff and types with mypy."""
    session.install("-e", ".[dev]")
    session.run("ruff", "check", "harness", "scenarios", "suites", "tests", "noxfile.py")
    session.run("mypy")


@nox.session(venv_backend="none")
def report(session: nox.Session) -> None:
    """Build the HTML report of a run (default: the latest) with the Allure 3 CLI; needs Node.js."""
    install_node_tools(session)
    run = Path(session.posargs[0]) if session.posargs else Path("reports/latest")
    results = run / "allure-results"
    if not results.is_dir():
        session.error(f"{results} not found; run a suite first, for example: nox -s uat")
    output = run.resolve() / "allure-report"
    session.run(str(ALLURE), "generate", str(results), "--output", str(output), external=True)
    session.log(f"report: {output / 'index.html'}")
