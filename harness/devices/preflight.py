"""Checks of a device selection that run before anything starts: profiles, apps, tools."""

from __future__ import annotations

from pathlib import Path

from harness.config.environment import load_environment
from harness.devices.doctor import check_drivers
from harness.devices.profiles import DEVICES_DIR, DeviceProfile, Driver, select_devices
from harness.errors import Problem, UsageError

__all__ = ["check_device_selection"]


def check_device_selection(
    root: Path, names: tuple[str, ...], default_set: str, environment_name: str
) -> list[DeviceProfile]:
    """Resolve the selection and check it can run on the environment's Appium server.

    A local server has only the drivers package.json pins, so farm profiles are rejected there,
    and the tools the selected drivers need must be installed.
    """
    profiles = select_devices(root, names, default_set)
    for profile in profiles:
        check_app_file(root, profile)
    environment = load_environment(environment_name, root)
    if not environment.appium.local:
        return profiles
    for profile in profiles:
        if not profile.driver.runs_here:
            raise UsageError(
                Problem.DEVICE_UNAVAILABLE,
                {
                    "name": profile.name,
                    "driver": profile.driver.value,
                    "reason": "which the local Appium server does not have",
                    "advice": "choose --devices local, or set [appium] local = false and url_env "
                    f"in environments/{environment_name}.toml for a device farm",
                },
            )
    check_drivers(root, {profile.driver for profile in profiles})
    return profiles


def check_app_file(root: Path, profile: DeviceProfile) -> None:
    if profile.driver is not Driver.FAKE:
        return
    path = root / DEVICES_DIR / "apps" / profile.app
    if not path.is_file():
        reason = f"app file {path} not found; add it or fix the value"
        raise UsageError(
            Problem.INVALID_VALUE,
            {
                "path": root / DEVICES_DIR / "profiles" / f"{profile.name}.toml",
                "key": "app",
                "reason": reason,
            },
        )
