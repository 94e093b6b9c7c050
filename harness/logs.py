"""Logging setup: one line per event on stderr, a full log in the run folder, secrets masked."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path

__all__ = ["SecretMask", "configure_logging", "log_to_run_folder"]

MASK = "***"


class SecretMask(logging.Filter):
    """Replace every known secret value in a record's message before any handler writes it."""

    def __init__(self) -> None:
        super().__init__()
        self.secrets: set[str] = set()

    def add(self, values: Iterable[str]) -> None:
        self.secrets.update(value for value in values if value)

    def filter(self, record: logging.LogRecord) -> bool:
        if self.secrets:
            message = record.getMessage()
            for secret in self.secrets:
                message = message.replace(secret, MASK)
            record.msg, record.args = message, None
        return True


SECRET_MASK = SecretMask()


def configure_logging(verbose: bool) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("harness: %(message)s"))
    handler.addFilter(SECRET_MASK)
    root = logging.getLogger("harness")
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    root.propagate = False


def log_to_run_folder(run_path: Path) -> None:
    handler = logging.FileHandler(run_path / "logs" / "harness.log", encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(SECRET_MASK)
    logging.getLogger("harness").addHandler(handler)
