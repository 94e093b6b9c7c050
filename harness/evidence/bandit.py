"""bandit's JSON report: the findings, and whether bandit scanned anything at all.

bandit 1.9 exits 0 for a missing target, a file it cannot parse and an empty folder, listing
them only in `errors` or showing 0 lines in `metrics`. Those cases are tool errors here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from harness.config.security import Baseline
from harness.evidence.junit import EvidenceError

__all__ = ["BanditReport", "SastFinding", "apply_baseline", "parse_bandit"]

SEVERITIES = ("HIGH", "MEDIUM", "LOW")


@dataclass(frozen=True)
class SastFinding:
    """One bandit result, with its path relative to the project root."""

    test_id: str
    severity: str
    confidence: str
    path: str
    line: int
    code: str
    text: str

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.test_id, self.path, self.code.strip())


@dataclass(frozen=True)
class BanditReport:
    """The findings of one bandit run and the amount of code it scanned."""

    findings: list[SastFinding]
    files_scanned: int
    lines_scanned: int


def parse_bandit(path: Path, root: Path) -> BanditReport:
    """Read bandit's JSON report; raise EvidenceError if it is unusable or shows no scan."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        errors, metrics, results = data["errors"], data["metrics"], data["results"]
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise EvidenceError(f"{path.name} is not a bandit JSON report: {error}") from None
    if errors:
        first = errors[0]
        raise EvidenceError(
            f"bandit could not scan {len(errors)} path(s), first {first.get('filename')}: "
            f"{first.get('reason')}"
        )
    files = [name for name in metrics if name != "_totals"]
    lines = int(metrics.get("_totals", {}).get("loc", 0))
    if not files or lines == 0:
        raise EvidenceError(f"bandit scanned {len(files)} files and {lines} lines of code")
    findings = [read_finding(result, root) for result in results]
    return BanditReport(findings, len(files), lines)


def read_finding(result: dict[str, object], root: Path) -> SastFinding:
    line = int(str(result["line_number"]))
    return SastFinding(
        test_id=str(result["test_id"]),
        severity=str(result["issue_severity"]),
        confidence=str(result["issue_confidence"]),
        path=relative_path(str(result["filename"]), root),
        line=line,
        code=code_line(str(result.get("code", "")), line),
        text=str(result["issue_text"]),
    )


def relative_path(filename: str, root: Path) -> str:
    path = Path(filename)
    if path.is_absolute() and path.is_relative_to(root.resolve()):
        return path.relative_to(root.resolve()).as_posix()
    return path.as_posix().removeprefix("./")


def code_line(snippet: str, line: int) -> str:
    """Return the flagged line from bandit's numbered snippet ("23     import subprocess")."""
    for row in snippet.splitlines():
        number, _, text = row.partition(" ")
        if number == str(line):
            return text.strip()
    return ""


def apply_baseline(
    findings: list[SastFinding], baseline: Baseline
) -> tuple[list[SastFinding], list[str]]:
    """Split findings into new ones and name the baseline entries that matched no finding."""
    accepted = {entry.key for entry in baseline.accepted}
    found = {finding.key for finding in findings}
    new = [finding for finding in findings if finding.key not in accepted]
    stale = [
        f"{entry.test_id} in {entry.path}: {entry.code.strip()}"
        for entry in baseline.accepted
        if entry.key not in found
    ]
    return new, stale
