"""Read a TOML file into a pydantic model; every failure becomes one line naming file and key."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import TypeVar

import pydantic

from harness.errors import Problem, UsageError

__all__ = ["StrictModel", "load_toml_model"]

ModelT = TypeVar("ModelT", bound=pydantic.BaseModel)


class StrictModel(pydantic.BaseModel):
    """Base for configuration models: unknown keys are errors, so a typo is never ignored."""

    model_config = pydantic.ConfigDict(extra="forbid", frozen=True)


def read_toml(path: Path) -> dict[str, object]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise UsageError(
            Problem.UNREADABLE_FILE, {"path": path, "reason": error.strerror}
        ) from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise UsageError(Problem.MALFORMED_TOML, {"path": path, "reason": str(error)}) from None


def describe_validation_error(error: pydantic.ValidationError) -> tuple[str, str]:
    """Return the dotted key and the reason of the first validation error."""
    first = error.errors()[0]
    key = ".".join(str(part) for part in first["loc"]) or "(top level)"
    if first["type"] == "extra_forbidden":
        return key, "unknown key"
    if first["type"] == "missing":
        return key, "required key is missing"
    return key, f"{first['msg']} (got {first.get('input')!r})"


def load_toml_model(path: Path, model: type[ModelT]) -> ModelT:
    """Parse `path` and validate it as `model`, raising UsageError that names file and key."""
    raw = read_toml(path)
    try:
        return model.model_validate(raw)
    except pydantic.ValidationError as error:
        key, reason = describe_validation_error(error)
        raise UsageError(
            Problem.INVALID_VALUE, {"path": path, "key": key, "reason": reason}
        ) from None
