"""Read XML evidence safely: reports from other CI jobs and tools are outside input.

Ingested JUnit and Cobertura files, and shard run folders copied from CI artifacts, come from
machines the harness does not control. defusedxml parses them with entity expansion and external
references refused, so a crafted report cannot exhaust memory or read local files.
"""

from __future__ import annotations

from pathlib import Path
from xml.etree.ElementTree import Element, ParseError

import defusedxml
import defusedxml.ElementTree

__all__ = ["EvidenceError", "read_xml_root"]


class EvidenceError(Exception):
    """An evidence file is missing, empty or cannot be parsed."""


def read_xml_root(path: Path, kind: str, root_tags: set[str]) -> Element:
    """Parse an evidence file and return its root element, checked against `root_tags`.

    Raise EvidenceError naming the file when it is missing, empty, not well-formed XML, uses
    entities or DTDs, or has another root element. `kind` names the format in messages.
    """
    if not path.is_file():
        raise EvidenceError(f"{path.name} is missing")
    if path.stat().st_size == 0:
        raise EvidenceError(f"{path.name} is empty")
    try:
        root: Element = defusedxml.ElementTree.parse(path).getroot()
    except ParseError as error:
        raise EvidenceError(f"{path.name} is not valid XML: {error}") from None
    except defusedxml.DefusedXmlException as error:
        raise EvidenceError(f"{path.name} was rejected: {error}") from None
    if root.tag not in root_tags:
        raise EvidenceError(f"{path.name} is not {kind} (root element <{root.tag}>)")
    return root
