"""Typed configuration read from the project's TOML files: environments and gates."""

from harness.config.environment import Account, Environment, Target, load_environment
from harness.config.gates import GatesFile, GateSpec, Stage, load_gates

__all__ = [
    "Account",
    "Environment",
    "GateSpec",
    "GatesFile",
    "Stage",
    "Target",
    "load_environment",
    "load_gates",
]
