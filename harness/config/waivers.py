"""waivers.toml: approved exceptions that let one build pass a failing gate until a date."""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Annotated

import pydantic

from harness.config.loader import StrictModel, load_toml_model

__all__ = ["Waiver", "WaiversFile", "load_waivers"]


class Waiver(StrictModel):
    """Permission for one build to be promoted although one gate did not pass."""

    gate: Annotated[str, pydantic.StringConstraints(min_length=1)]
    build: Annotated[str, pydantic.StringConstraints(min_length=1)]
    approver: Annotated[str, pydantic.StringConstraints(min_length=1)]
    expires: datetime.date
    reason: Annotated[str, pydantic.StringConstraints(min_length=1)]
    stage: str | None = None

    def applies_to(self, gate: str, build: str, stage: str, today: datetime.date) -> bool:
        """A waiver applies up to and including its expiry date, to its gate and build only."""
        same_stage = self.stage is None or self.stage == stage
        return self.gate == gate and self.build == build and same_stage and today <= self.expires


class WaiversFile(StrictModel):
    """The whole waivers.toml."""

    waivers: list[Waiver] = pydantic.Field(default_factory=list)


def load_waivers(path: Path) -> WaiversFile:
    """Load waivers.toml; a project without the file has no waivers."""
    if not path.exists():
        return WaiversFile()
    return load_toml_model(path, WaiversFile)
