"""Device profiles in devices/profiles/*.toml and the named sets in devices/sets.toml."""

from __future__ import annotations

import enum
import re
from pathlib import Path
from typing import Annotated, Any, Self

import pydantic

from harness.config.loader import StrictModel, load_toml_model
from harness.errors import Problem, UsageError

__all__ = [
    "DEVICES_DIR",
    "DeviceProfile",
    "Driver",
    "ProfileKind",
    "load_profiles",
    "select_devices",
]

DEVICES_DIR = "devices"
PROFILE_NAME = re.compile(r"^[a-z0-9][a-z0-9-]*$")
NonEmpty = Annotated[str, pydantic.StringConstraints(min_length=1)]


class Driver(enum.StrEnum):
    """The Appium driver a profile needs; the value is its `appium:automationName`."""

    CHROMIUM = "Chromium"
    FAKE = "Fake"
    UIAUTOMATOR2 = "UiAutomator2"
    XCUITEST = "XCUITest"

    @classmethod
    def _missing_(cls, value: object) -> Driver | None:
        # Profiles spell drivers in lower case, as `appium driver list` prints them.
        lowered = str(value).lower()
        return next((driver for driver in cls if driver.value.lower() == lowered), None)

    @property
    def runs_here(self) -> bool:
        """Whether the project's own Appium installation has this driver (see package.json)."""
        return self in (Driver.CHROMIUM, Driver.FAKE)


class ProfileKind(enum.StrEnum):
    """The target of a profile: the Agent Chat web client in a browser, or a native app."""

    WEB = "web"
    NATIVE = "native"


class DeviceProfile(StrictModel):
    """One device: what it is, the driver that automates it and extra W3C capabilities."""

    name: str = ""
    description: str = ""
    platform: NonEmpty
    platform_version: str = ""
    device_name: NonEmpty
    driver: Driver
    kind: ProfileKind
    app: str = ""
    capabilities: dict[str, Any] = pydantic.Field(default_factory=dict)

    @pydantic.model_validator(mode="after")
    def check_app(self) -> Self:
        if self.kind is ProfileKind.NATIVE and not self.app:
            raise ValueError("a native profile needs app = a file under devices/apps/ or an app id")
        if self.driver is Driver.FAKE and self.kind is not ProfileKind.NATIVE:
            raise ValueError("the fake driver drives app descriptions only: set kind = 'native'")
        return self


class DeviceSets(StrictModel):
    """devices/sets.toml: named lists of profile names."""

    sets: dict[str, list[str]] = pydantic.Field(default_factory=dict)


def load_profiles(root: Path) -> dict[str, DeviceProfile]:
    """Load every profile under ROOT/devices/profiles, keyed by its file name without .toml."""
    profiles = {}
    for path in sorted((root / DEVICES_DIR / "profiles").glob("*.toml")):
        if not PROFILE_NAME.match(path.stem):
            reason = "profile file names use lower-case letters, digits and dashes; rename it"
            raise UsageError(
                Problem.INVALID_VALUE, {"path": path, "key": "(file name)", "reason": reason}
            )
        profile = load_toml_model(path, DeviceProfile)
        profiles[path.stem] = profile.model_copy(update={"name": path.stem})
    return profiles


def load_sets(root: Path, profiles: dict[str, DeviceProfile]) -> dict[str, list[str]]:
    path = root / DEVICES_DIR / "sets.toml"
    if not path.is_file():
        return {}
    sets = load_toml_model(path, DeviceSets).sets
    for set_name, members in sets.items():
        for member in members:
            if member not in profiles:
                reason = (
                    f"no profile {member!r} in {DEVICES_DIR}/profiles/; remove it or add the file"
                )
                raise UsageError(
                    Problem.INVALID_VALUE,
                    {"path": path, "key": f"sets.{set_name}", "reason": reason},
                )
    return sets


def select_devices(root: Path, names: tuple[str, ...], default: str) -> list[DeviceProfile]:
    """Resolve `--devices` (profile and set names, in order, without repeats) into profiles.

    With no names, the set `default` is used.
    """
    profiles = load_profiles(root)
    sets = load_sets(root, profiles)
    selected: list[DeviceProfile] = []
    for name in names or (default,):
        for member in expand(name, profiles, sets, root):
            if profiles[member] not in selected:
                selected.append(profiles[member])
    return selected


def expand(
    name: str, profiles: dict[str, DeviceProfile], sets: dict[str, list[str]], root: Path
) -> list[str]:
    if name in profiles:
        return [name]
    if name in sets:
        return sets[name]
    choices = ", ".join([*sorted(profiles), *(f"set {s}" for s in sorted(sets))]) or "(none)"
    raise UsageError(
        Problem.UNKNOWN_DEVICE,
        {"name": name, "path": root / DEVICES_DIR, "choices": choices},
    )
