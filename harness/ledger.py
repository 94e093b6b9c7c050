"""The promotion ledger, reports/ledger.jsonl: one JSON line per promotion, hash-chained.

Each line carries the sha256 of the line before it (the first line carries GENESIS), so an edited,
inserted or removed line breaks the chain for every reader.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

__all__ = ["GENESIS", "LEDGER_NAME", "ledger_path", "read_chain"]

LEDGER_NAME = "ledger.jsonl"
GENESIS = "0" * 64


def ledger_path(run_path: Path) -> Path:
    """Return the ledger beside the runs/ folder that contains `run_path`."""
    return run_path.parent.parent / LEDGER_NAME


def read_chain(ledger: Path) -> tuple[list[dict[str, object]], list[str]]:
    """Parse every line and check that it follows the line before it.

    Returns the entries in file order, with {} for a line that is not a JSON object, and one
    problem per line that is not JSON or does not follow its predecessor. Raises OSError when the
    ledger cannot be read.
    """
    entries: list[dict[str, object]] = []
    problems = []
    previous = GENESIS
    for number, line in enumerate(ledger.read_text(encoding="utf-8").splitlines(), start=1):
        try:
            entry = json.loads(line)
        except ValueError:
            problems.append(f"ledger line {number} is not valid JSON")
            entry = {}
        if not isinstance(entry, dict):
            entry = {}
        if entry.get("previous_sha256") != previous:
            problems.append(f"ledger line {number} does not follow line {number - 1}: chain broken")
        previous = hashlib.sha256(line.encode()).hexdigest()
        entries.append(entry)
    return entries, problems
