"""Allure results written by allure-pytest: mark flaky tests and quarantined failures."""

from __future__ import annotations

import json
from pathlib import Path

__all__ = ["QUARANTINED_PREFIX", "mark_flaky_retries", "mark_quarantined"]

# Every quarantined failure's message starts with this, so the "Quarantined" category of
# categories.json matches it before the general failure categories.
QUARANTINED_PREFIX = "Quarantined: "


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


def junit_id(data: dict[str, object]) -> str:
    """Return the JUnit id of an allure-pytest result: "module.Class#test" and "test[param]".

    The result's name carries the parameters but is replaced by an @allure.title, so a titled
    test, and every pytest-bdd scenario, has no JUnit id here and returns "".
    """
    full_name, name = data.get("fullName"), data.get("name")
    if not isinstance(full_name, str) or not isinstance(name, str) or "#" not in full_name:
        return ""
    return f"{full_name.split('#', 1)[0]}::{name}"


def mark_quarantined(results_dir: Path, summaries: dict[str, str]) -> set[str]:
    """Prefix the message of each failed result of a quarantined test and tag it "quarantined".

    `summaries` maps a JUnit id to the text that states who quarantined the test and why. Returns
    the ids that matched a result; marking a result twice leaves it as it was after the first.
    """
    matched: set[str] = set()
    for path in sorted(results_dir.glob("*-result.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue  # NOTE: an unreadable result is left for the Allure CLI to report.
        identity = junit_id(data)
        if identity not in summaries or data.get("status") not in ("failed", "broken"):
            continue
        matched.add(identity)
        details = data.setdefault("statusDetails", {})
        message = str(details.get("message") or "")
        if message.startswith(QUARANTINED_PREFIX):
            continue
        details["message"] = f"{QUARANTINED_PREFIX}{summaries[identity]}\n{message}"
        data.setdefault("labels", []).append({"name": "tag", "value": "quarantined"})
        path.write_text(json.dumps(data) + "\n", encoding="utf-8")
    return matched
