"""Session records: one JSON line per Appium session, telling whether it ended cleanly.

The device suite's processes append them, one file per process, so parallel workers never write
to the same file; the device runner reads them all after the suite.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import os
from dataclasses import dataclass
from pathlib import Path

from harness.devices.plan import DevicePlan

__all__ = ["SessionEnd", "SessionRecord", "read_records", "write_record"]


class SessionEnd(enum.StrEnum):
    """How a session ended."""

    CLEAN = "clean"
    CRASHED = "crashed"


@dataclass(frozen=True)
class SessionRecord:
    """One session in the evidence file: its profile, test, times and how it ended."""

    profile: str
    session_id: str
    test: str
    started_at: str
    ended_at: str
    end: SessionEnd
    reason: str = ""


def write_record(plan: DevicePlan, record: SessionRecord) -> None:
    if not plan.sessions_dir:
        return
    path = Path(plan.sessions_dir) / f"sessions-{os.getpid()}.jsonl"
    with path.open("a", encoding="utf-8") as stream:
        stream.write(json.dumps(dataclasses.asdict(record)) + "\n")


def read_records(folder: Path) -> list[SessionRecord]:
    """Read every session record in `folder`; raises ValueError or KeyError on a bad line."""
    records = []
    for path in sorted(folder.glob("sessions-*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            data = json.loads(line)
            data["end"] = SessionEnd(data["end"])
            records.append(SessionRecord(**data))
    return records
