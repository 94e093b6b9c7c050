"""The parity matrix (scenarios by channels) of a uat run, as JSON, Markdown and an Allure result.

A gap is a scenario that passed on at least one channel and did not pass on another: the product
behaves differently depending on how a user reaches it.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from harness.evidence.junit import case_outcomes

__all__ = ["ParityMatrix", "parity_from_junit", "write_parity"]

CASE_NAME = re.compile(r"::test_(?P<scenario>.+)\[(?P<channel>[^\]]+)\]$")


@dataclass(frozen=True)
class ParityMatrix:
    """Outcome per scenario and channel; a missing cell means the scenario did not run there."""

    channels: list[str]
    outcomes: dict[str, dict[str, str]]

    def gaps(self) -> list[str]:
        return [
            scenario
            for scenario, row in sorted(self.outcomes.items())
            if "passed" in row.values() and set(row.values()) != {"passed"}
        ]

    def markdown(self) -> str:
        lines = [
            "| scenario | " + " | ".join(self.channels) + " |",
            "| --- |" + " --- |" * len(self.channels),
        ]
        for scenario, row in sorted(self.outcomes.items()):
            cells = [row.get(channel, "not run") for channel in self.channels]
            lines.append(f"| {scenario.replace('_', ' ')} | " + " | ".join(cells) + " |")
        gaps = self.gaps()
        lines.append("")
        lines.append(f"gaps: {', '.join(gaps)}" if gaps else "gaps: none")
        return "\n".join(lines) + "\n"


def parity_from_junit(junit: Path) -> ParityMatrix:
    """Build the matrix from the uat JUnit report, whose test ids end in [channel]."""
    outcomes: dict[str, dict[str, str]] = {}
    channels: list[str] = []
    for case, outcome in case_outcomes(junit).items():
        match = CASE_NAME.search(case)
        if match is None:
            continue
        channel = match["channel"]
        if channel not in channels:
            channels.append(channel)
        outcomes.setdefault(match["scenario"], {})[channel] = outcome
    return ParityMatrix(channels, outcomes)


def write_parity(run_path: Path, allure_dir: Path, matrix: ParityMatrix) -> None:
    """Write parity.json and parity.md into the run folder, and the matrix as an Allure result."""
    data = {"channels": matrix.channels, "outcomes": matrix.outcomes, "gaps": matrix.gaps()}
    (run_path / "parity.json").write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    markdown = matrix.markdown()
    (run_path / "parity.md").write_text(markdown, encoding="utf-8")
    allure_dir.mkdir(parents=True, exist_ok=True)
    run_id = run_path.name
    attachment = f"{uuid.uuid5(uuid.NAMESPACE_URL, f'{run_id}/parity.md')}-attachment.md"
    (allure_dir / attachment).write_text(markdown, encoding="utf-8")
    result_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{run_id}/parity"))
    (allure_dir / f"{result_id}-result.json").write_text(
        json.dumps(allure_result(result_id, matrix, attachment), indent=2) + "\n", encoding="utf-8"
    )


def allure_result(result_id: str, matrix: ParityMatrix, attachment: str) -> dict[str, object]:
    now_ms = int(time.time() * 1000)
    gaps = matrix.gaps()
    message = f"gaps: {', '.join(gaps)}" if gaps else "no scenario differs between channels"
    return {
        "uuid": result_id,
        "historyId": "uat-channel-parity",
        "name": f"channel parity: {', '.join(matrix.channels)}",
        "fullName": "uat.parity",
        "status": "failed" if gaps else "passed",
        "statusDetails": {"message": message},
        "stage": "finished",
        "start": now_ms,
        "stop": now_ms,
        "labels": [
            {"name": "parentSuite", "value": "uat"},
            {"name": "suite", "value": "channel parity"},
        ],
        "attachments": [{"name": "parity matrix", "source": attachment, "type": "text/markdown"}],
    }
