"""The pure parts of the security suite: bandit parsing, the baseline, classification, probes."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from harness.config.security import Baseline
from harness.evidence.bandit import (
    BanditReport,
    SastFinding,
    apply_baseline,
    code_line,
    parse_bandit,
)
from harness.evidence.junit import EvidenceError
from harness.runners.base import SuiteOutcome
from harness.runners.security import SecurityEvidence, check_bandit_exit, classify_security
from harness.security.dast import ProbeResult, bad_tokens, leaks_in

TOTALS = {"loc": 12, "nosec": 0, "skipped_tests": 0}
RESULT = {
    "test_id": "B311",
    "issue_severity": "LOW",
    "issue_confidence": "HIGH",
    "filename": "app/dice.py",
    "line_number": 3,
    "code": "2 \n3 other = random.randint(1, 6)\n",
    "issue_text": "Standard pseudo-random generators are not suitable.",
}
FINDING = SastFinding("B311", "LOW", "HIGH", "app/dice.py", 3, "other = random.randint(1, 6)", "")


def write_report(tmp_path: Path, data: object) -> Path:
    path = tmp_path / "bandit.json"
    path.write_text(json.dumps(data))
    return path


def test_bandit_report_parsed(tmp_path: Path) -> None:
    data = {
        "errors": [],
        "metrics": {"_totals": TOTALS, "app/dice.py": TOTALS},
        "results": [RESULT],
    }
    report = parse_bandit(write_report(tmp_path, data), tmp_path)
    assert (report.files_scanned, report.lines_scanned) == (1, 12)
    assert report.findings == [
        SastFinding(
            "B311",
            "LOW",
            "HIGH",
            "app/dice.py",
            3,
            "other = random.randint(1, 6)",
            RESULT["issue_text"],
        )
    ]


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (
            {"errors": [{"filename": "x", "reason": "No such file"}], "metrics": {}, "results": []},
            "could not scan 1 path(s), first x: No such file",
        ),
        (
            {"errors": [], "metrics": {"_totals": {"loc": 0}}, "results": []},
            "scanned 0 files and 0 lines",
        ),
        ({"errors": []}, "not a bandit JSON report"),
        ([], "not a bandit JSON report"),
    ],
)
def test_bandit_report_unusable(tmp_path: Path, data: object, fragment: str) -> None:
    with pytest.raises(EvidenceError, match=re.escape(fragment)):
        parse_bandit(write_report(tmp_path, data), tmp_path)


def test_code_line_missing() -> None:
    assert code_line("1 a\n2 b\n", 7) == ""


def test_baseline_matches_by_code_line() -> None:
    accepted = {"test_id": "B311", "path": "app/dice.py", "reason": "game"}
    baseline = Baseline.model_validate(
        {
            "accepted": [
                {**accepted, "code": " other = random.randint(1, 6) "},
                {**accepted, "code": "gone()"},
            ]
        }
    )
    new, stale = apply_baseline([FINDING], baseline)
    assert new == []
    assert stale == ["B311 in app/dice.py: gone()"]


def test_bandit_exit_must_match_findings() -> None:
    report = BanditReport([FINDING], 1, 3)
    assert check_bandit_exit(report, [1, 1]) is report
    assert isinstance(check_bandit_exit(report, [0, 1]), EvidenceError)
    assert isinstance(check_bandit_exit(BanditReport([], 1, 3), [1, 0]), EvidenceError)


def passing_evidence() -> SecurityEvidence:
    return SecurityEvidence(BanditReport([], 1, 3))


def test_classify_security_pass() -> None:
    evidence = passing_evidence()
    evidence.probes = [ProbeResult("auth", "GET /a", True, "high", "")]
    assert classify_security(evidence)[0] is SuiteOutcome.PASSED


@pytest.mark.parametrize(
    ("change", "outcome", "fragment"),
    [
        ({"sast": EvidenceError("bandit scanned 0 files")}, SuiteOutcome.ERROR, "SAST tool error"),
        ({"dast_error": "refused"}, SuiteOutcome.ERROR, "DAST could not run: refused"),
        ({"new_findings": [FINDING]}, SuiteOutcome.FAILED, "1 low findings"),
        ({"stale_entries": ["B1 in x: y"]}, SuiteOutcome.FAILED, "1 stale"),
        (
            {"probes": [ProbeResult("auth", "x", None, "medium", "")]},
            SuiteOutcome.FAILED,
            "1 DAST failures",
        ),
        ({"probes": [ProbeResult("tls", "x", False, "high", "")]}, SuiteOutcome.FAILED, "1 high"),
    ],
)
def test_classify_security_problems(
    change: dict[str, object], outcome: SuiteOutcome, fragment: str
) -> None:
    evidence = passing_evidence()
    for name, value in change.items():
        setattr(evidence, name, value)
    actual, reason = classify_security(evidence)
    assert actual is outcome
    assert fragment in reason


def test_bad_tokens_for_known_layout() -> None:
    tokens = bad_tokens("v1.3.4102444800.c2lnbmF0dXJl", "secret")
    assert tokens["missing"] is None
    assert tokens["tampered"] == "v1.4.4102444800.c2lnbmF0dXJl"
    assert str(tokens["expired"]).startswith("v1.3.")


def test_bad_tokens_for_unknown_layout() -> None:
    tokens = bad_tokens("opaque-token-A", "")
    assert tokens["tampered"] == "opaque-token-B"
    assert "expired" not in tokens


@pytest.mark.parametrize(
    ("text", "leaks"),
    [
        ('Traceback (most recent call last):\n  File "x.py", line 3', ["stack trace"]),
        ("SELECT id FROM users WHERE name = 'a'", ["SQL"]),
        ("sqlite3.OperationalError: no such table", ["database error"]),
        ("the key is hunter2", ["a secret value"]),
        ('{"detail": "invalid username or password"}', []),
    ],
)
def test_leaks_in(text: str, leaks: list[str]) -> None:
    assert leaks_in(text, ["hunter2"]) == leaks
