"""security.toml and the baseline of accepted SAST findings it names."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import pydantic

from harness.config.loader import StrictModel, load_toml_model
from harness.errors import Problem, UsageError

__all__ = ["AcceptedFinding", "Baseline", "SecurityFile", "load_baseline", "load_security_file"]

SECURITY_FILE = "security.toml"
NonEmpty = Annotated[str, pydantic.StringConstraints(min_length=1)]


class Sast(StrictModel):
    """bandit's targets, relative to the project root, and the file of accepted findings."""

    targets: Annotated[list[NonEmpty], pydantic.Field(min_length=1)]
    baseline: NonEmpty


class SecurityFile(StrictModel):
    """The whole security.toml."""

    sast: Sast


class AcceptedFinding(StrictModel):
    """A finding someone reviewed and accepted, identified by its check, file and code line.

    The code line, not the line number, identifies it, so edits elsewhere in the file keep the
    entry valid while a new finding of the same check in the same file is still reported.
    """

    test_id: Annotated[str, pydantic.StringConstraints(pattern=r"^B\d{3}$")]
    path: NonEmpty
    code: NonEmpty
    reason: NonEmpty

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.test_id, self.path, self.code.strip())


class Baseline(StrictModel):
    """The baseline file: every accepted finding."""

    accepted: list[AcceptedFinding] = pydantic.Field(default_factory=list)


def load_security_file(root: Path) -> SecurityFile:
    """Load security.toml and check that every SAST target exists."""
    path = root / SECURITY_FILE
    security = load_toml_model(path, SecurityFile)
    for index, target in enumerate(security.sast.targets):
        if not (root / target).exists():
            reason = f"target {target} not found under {root}"
            key = f"sast.targets.{index}"
            raise UsageError(Problem.INVALID_VALUE, {"path": path, "key": key, "reason": reason})
    return security


def load_baseline(root: Path, security: SecurityFile) -> Baseline:
    return load_toml_model(root / security.sast.baseline, Baseline)
