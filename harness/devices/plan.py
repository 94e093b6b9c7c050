"""The device plan: the Appium endpoint and profiles that the harness passes to pytest.

The runner writes it as JSON into the run folder and names the file in HARNESS_DEVICE_PLAN, the
way HARNESS_TARGET_FILE names the target. It holds no secret: a grid's credentials stay in the
environment variables the endpoint names.
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass
from pathlib import Path

from harness.devices.appium_server import AppiumEndpoint
from harness.devices.profiles import DeviceProfile

__all__ = ["PLAN_VARIABLE", "DevicePlan", "PlanMissing"]

PLAN_VARIABLE = "HARNESS_DEVICE_PLAN"


class PlanMissing(Exception):
    """No device plan is set: the code runs outside a harness run that started Appium."""


@dataclass(frozen=True)
class DevicePlan:
    """The Appium endpoint, the selected profiles, and where session records go."""

    endpoint: AppiumEndpoint
    root: str
    profiles: list[DeviceProfile]
    sessions_dir: str = ""

    def profile(self, name: str) -> DeviceProfile:
        return next(profile for profile in self.profiles if profile.name == name)

    def write(self, path: Path) -> Path:
        data = {
            "endpoint": dataclasses.asdict(self.endpoint),
            "root": self.root,
            "profiles": [profile.model_dump(mode="json") for profile in self.profiles],
            "sessions_dir": self.sessions_dir,
        }
        path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
        return path

    @classmethod
    def read(cls, path: Path) -> DevicePlan:
        data = json.loads(path.read_text(encoding="utf-8"))
        return cls(
            endpoint=AppiumEndpoint(**data["endpoint"]),
            root=data["root"],
            profiles=[DeviceProfile.model_validate(item) for item in data["profiles"]],
            sessions_dir=data["sessions_dir"],
        )

    @classmethod
    def from_environment(cls) -> DevicePlan:
        path = os.environ.get(PLAN_VARIABLE, "")
        if not path:
            raise PlanMissing(
                f"{PLAN_VARIABLE} is not set; start device sessions through harness run"
            )
        return cls.read(Path(path))
