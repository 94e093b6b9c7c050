"""Load profiles: suites/load/<name>.toml sets how many chat users a load run holds, and how long.

Every number of a profile lives in its file. The model bounds each one, so every run is bounded
in users and in time and stops by itself.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Annotated

import pydantic

from harness.config.loader import StrictModel, load_toml_model
from harness.errors import Problem, UsageError

__all__ = ["LoadProfile", "load_profile", "profile_names"]

PROFILE_DIR = Path("suites") / "load"
PROFILE_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
# Load-test accounts are load00000 .. load99999 on the Agent Chat service.
MAX_USERS = 100_000
MAX_HOLD_S = 3600
# Time beyond ramp and hold: up to 60 s for the last users to connect before the hold starts
# (CONNECT_WAIT_S in suites/load/locustfile.py), then for stopping users and collecting the
# workers' last reports.
STOP_GRACE_S = 150


class LoadProfile(StrictModel):
    """One load profile: the chat users to hold, their ramp, their pace and their rooms."""

    name: str = ""
    description: str = ""
    users: Annotated[int, pydantic.Field(ge=1, le=MAX_USERS)]
    spawn_rate: Annotated[float, pydantic.Field(gt=0, le=1000)]
    hold_s: Annotated[float, pydantic.Field(gt=0, le=MAX_HOLD_S)]
    think_time_min_s: Annotated[float, pydantic.Field(ge=0, le=600)]
    think_time_max_s: Annotated[float, pydantic.Field(gt=0, le=600)]
    room_size: Annotated[int, pydantic.Field(ge=2, le=1000)] = 10
    history_limit: Annotated[int, pydantic.Field(ge=1, le=200)] = 50

    @pydantic.field_validator("think_time_max_s")
    @classmethod
    def check_think_time(cls, value: float, info: pydantic.ValidationInfo) -> float:
        shortest = info.data.get("think_time_min_s")
        if shortest is not None and value < shortest:
            raise ValueError(f"must be at least think_time_min_s ({shortest:g})")
        return value

    @property
    def ramp_s(self) -> float:
        return self.users / self.spawn_rate

    @property
    def max_run_s(self) -> int:
        """The hard time limit of a run in seconds: ramp, hold, and the grace around the hold."""
        return math.ceil(self.ramp_s + self.hold_s + STOP_GRACE_S)

    @property
    def messages_per_s(self) -> float:
        """The steady message rate in messages per second once every user is connected."""
        mean_think_s = (self.think_time_min_s + self.think_time_max_s) / 2
        return self.users / max(mean_think_s, 0.001)


def profile_names(root: Path) -> list[str]:
    return sorted(path.stem for path in (root / PROFILE_DIR).glob("*.toml"))


def load_profile(name: str, root: Path) -> LoadProfile:
    """Load suites/load/<name>.toml under `root`; raise UsageError for unknown or invalid files."""
    path = root / PROFILE_DIR / f"{name}.toml"
    if not PROFILE_NAME.match(name) or not path.is_file():
        choices = ", ".join(profile_names(root)) or "(none)"
        raise UsageError(Problem.UNKNOWN_PROFILE, {"name": name, "path": path, "choices": choices})
    profile = load_toml_model(path, LoadProfile)
    return profile.model_copy(update={"name": name})
