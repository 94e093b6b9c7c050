"""Which scenarios a uat run executes: by tag, name, target sensitivity or last run's failures."""

from __future__ import annotations

import re
from pathlib import Path

from harness.errors import Problem, UsageError
from harness.evidence.junit import EvidenceError, parse_junit

__all__ = ["failed_node_ids", "marker_expression"]

TAG = re.compile(r"@([A-Za-z_][A-Za-z0-9_-]*)")
ALLOWED_WORDS = {"and", "or", "not"}


def marker_expression(tags: str, sensitive: bool, allow_writes: bool) -> str:
    """Build the pytest -m expression for a tag filter such as "@smoke and not @slow".

    Manual scenarios are never automated, and on a sensitive environment only @readonly scenarios
    run unless writes were allowed explicitly.
    """
    parts = ["not manual"]
    if tags.strip():
        parts.append(f"({tag_filter_to_markers(tags)})")
    if sensitive and not allow_writes:
        parts.append("readonly")
    return " and ".join(parts)


def tag_filter_to_markers(tags: str) -> str:
    words = TAG.sub(lambda match: match.group(1), tags).replace("(", " ( ").replace(")", " ) ")
    for word in words.split():
        if word not in ALLOWED_WORDS | {"(", ")"} and not tags.count(f"@{word}"):
            reason = f"invalid tag filter {tags!r}: write tags with @, joined by and, or, not"
            raise UsageError(Problem.BAD_ARGUMENT, {"reason": reason})
    return " ".join(words.split())


def failed_node_ids(run_path: Path) -> list[str]:
    """Return pytest node ids of the scenarios that failed in a stored run's uat report."""
    try:
        counts = parse_junit(run_path / "junit" / "uat.xml")
    except EvidenceError as error:
        reason = f"cannot rerun failures of run {run_path.name}: {error}"
        raise UsageError(Problem.BAD_ARGUMENT, {"reason": reason}) from None
    if not counts.failed_ids:
        reason = f"run {run_path.name} has no failed scenarios to rerun"
        raise UsageError(Problem.BAD_ARGUMENT, {"reason": reason})
    return [node_id(case_id) for case_id in counts.failed_ids]


def node_id(case_id: str) -> str:
    """Turn JUnit's "scenarios.test_scenarios::test_x[api]" into a pytest node id."""
    classname, name = case_id.split("::", 1)
    return f"{classname.replace('.', '/')}.py::{name}"
