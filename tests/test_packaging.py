"""Each suite's install brings only its own extras, so the CLI must start without the others."""

from __future__ import annotations

import subprocess
import sys

import pytest

# Packages that only some extras install; the CLI must import without any one of them.
OPTIONAL = ["gherkin", "pytest_bdd", "playwright", "appium", "schemathesis", "bandit", "trustme"]


@pytest.mark.parametrize("package", OPTIONAL)
def test_cli_starts_without(package: str) -> None:
    # A None entry in sys.modules makes every import of that package raise ImportError.
    code = f"import sys; sys.modules[{package!r}] = None; import harness.cli as c; c.build_parser()"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
