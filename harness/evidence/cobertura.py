"""Cobertura XML: the statement and branch counts of a coverage report, as exact integers."""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from harness.evidence.xml_files import EvidenceError, read_xml_root

__all__ = ["CoverageTotals", "parse_cobertura"]


@dataclass(frozen=True)
class CoverageTotals:
    """Covered and measured statements and branches of a whole report."""

    lines_covered: int
    lines_valid: int
    branches_covered: int = 0
    branches_valid: int = 0

    @property
    def line_percent(self) -> Fraction:
        return Fraction(self.lines_covered * 100, self.lines_valid)

    @property
    def has_branches(self) -> bool:
        return self.branches_valid > 0

    @property
    def branch_percent(self) -> Fraction:
        return Fraction(self.branches_covered * 100, self.branches_valid)


def parse_cobertura(path: Path) -> CoverageTotals:
    """Read the totals of a Cobertura report; raise EvidenceError if it is unusable.

    The root element's lines-covered and lines-valid attributes are used when present, as
    coverage.py and most other producers write them. Otherwise the <line> elements are counted. A
    report that measured no statement is an error, never 0% or 100%.
    """
    root = read_xml_root(path, "Cobertura XML", {"coverage"})
    try:
        totals = totals_from_attributes(root) or totals_from_lines(root)
    except ValueError as error:
        raise EvidenceError(f"{path.name} has a count that is not an integer: {error}") from None
    if totals.lines_valid == 0:
        raise EvidenceError(f"{path.name} measured no statements; nothing was covered or missed")
    if not 0 <= totals.lines_covered <= totals.lines_valid:
        raise EvidenceError(
            f"{path.name} claims {totals.lines_covered} of {totals.lines_valid} lines covered"
        )
    return totals


def totals_from_attributes(root: ElementTree.Element) -> CoverageTotals | None:
    names = ["lines-covered", "lines-valid", "branches-covered", "branches-valid"]
    if root.get("lines-covered") is None or root.get("lines-valid") is None:
        return None
    return CoverageTotals(*[int(root.get(name) or 0) for name in names])


def totals_from_lines(root: ElementTree.Element) -> CoverageTotals:
    """Count each file's lines once, even when a report lists a file under several packages."""
    hits: dict[tuple[str, str], bool] = {}
    for class_element in root.iter("class"):
        filename = class_element.get("filename", "")
        for line in class_element.iter("line"):
            key = (filename, line.get("number", ""))
            hits[key] = hits.get(key, False) or int(line.get("hits", "0") or 0) > 0
    return CoverageTotals(sum(hits.values()), len(hits))
