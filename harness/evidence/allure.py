"""Allure results written by allure-pytest: mark tests that passed only on a rerun as flaky."""

from __future__ import annotations

import json
from pathlib import Path

__all__ = ["mark_flaky_retries"]


def mark_flaky_retries(results_dir: Path) -> int:
    """Set statusDetails.flaky on the last result of every test that passed after a retry.

    allure-pytest writes one result per attempt with the same historyId, which Allure shows as one
    test with its retries. Its last attempt (by stop time) carries the verdict. Returns the number
    of tests marked.
    """
    attempts: dict[str, list[tuple[int, Path, dict[str, object]]]] = {}
    for path in sorted(results_dir.glob("*-result.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue  # NOTE: an unreadable result is left for the Allure CLI to report.
        history = data.get("historyId")
        if isinstance(history, str):
            attempts.setdefault(history, []).append((int(data.get("stop") or 0), path, data))
    marked = 0
    for results in attempts.values():
        _, path, last = max(results, key=lambda entry: entry[0])
        if len(results) > 1 and last.get("status") == "passed":
            details = last.setdefault("statusDetails", {})
            if isinstance(details, dict):
                details["flaky"] = True
                path.write_text(json.dumps(last) + "\n", encoding="utf-8")
                marked += 1
    return marked
