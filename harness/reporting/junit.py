"""The run's merged JUnit XML: every suite's tests and every gate in one file for CI systems.

`junit.xml` at the run root contains one <testsuite> per suite, named after the suite, with one
testcase per test id carrying its final verdict (a retried test appears once, as its last
attempt). A test whose failure a quarantine entry excused appears as skipped, with the entry's
owner, expiry and reason in the skip message and as properties. A failure whose quarantine
expired stays a failure and gets a `quarantine` property saying so.

The security suite writes no JUnit XML. When it ran, its findings.json becomes a testsuite:
one testcase per DAST probe, one for bandit's findings outside the baseline and one for stale
baseline entries, each failed when the security suite's evidence shows a problem.

A last <testsuite name="gates"> contains one testcase per gate of the evaluated stage. A blocking
gate that did not pass has a failure element whose message gives the outcome, the actual value,
the threshold and the reason. A warning gate that did not pass stays a passing testcase and
carries the same text in <system-out>, because it does not stop promotion.
"""

from __future__ import annotations

import copy
import json
import logging
import re
import xml.etree.ElementTree as ElementTree
from pathlib import Path

from harness.evaluation import GateResult, Outcome, format_fraction
from harness.evidence.junit import EvidenceError, case_id, final_cases
from harness.evidence.quarantine import QuarantinedTest, QuarantineReview, read_reviews

__all__ = ["MERGED_JUNIT", "write_merged_junit"]

log = logging.getLogger(__name__)

MERGED_JUNIT = "junit.xml"
# Reports of a retry attempt are named <suite>-retry-<n>.xml beside the suite's first report.
RETRY_REPORT = re.compile(r"^(?P<suite>.+)-retry-(?P<number>\d+)$")
# Suites whose runner writes JUnit XML outside the junit/ folder.
OTHER_REPORTS = {"contract": "contract/schemathesis.xml"}
# The security suite's evidence, relative to the run folder.
SECURITY_FINDINGS = "security/findings.json"
# The verdict element of a testcase and the <testsuite> attribute that counts it.
VERDICT_TOTALS = {"failure": "failures", "error": "errors", "skipped": "skipped"}


def write_merged_junit(run_path: Path, stage: str, results: list[GateResult]) -> Path:
    """Write junit.xml at the run root from the suites' reports and the gate results."""
    reviews = read_reviews(run_path)
    root = ElementTree.Element("testsuites", {"name": f"harness run {run_path.name}"})
    for suite, paths in suite_reports(run_path).items():
        review = reviews.get(suite, QuarantineReview(suite))
        root.append(suite_element(suite, paths, review, run_path))
    findings = run_path / SECURITY_FINDINGS
    if findings.is_file():
        root.append(security_element(findings))
    root.append(gates_element(stage, results))
    add_totals(root, list(root))

    path = run_path / MERGED_JUNIT
    ElementTree.indent(root)
    ElementTree.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)
    return path


def suite_reports(run_path: Path) -> dict[str, list[Path]]:
    """Map each suite to its JUnit reports in attempt order: the first run, then each retry."""
    attempts: dict[str, list[tuple[int, Path]]] = {}
    for path in (run_path / "junit").glob("*.xml"):
        match = RETRY_REPORT.match(path.stem)
        suite, number = (match["suite"], int(match["number"])) if match else (path.stem, 0)
        attempts.setdefault(suite, []).append((number, path))
    for suite, relative in OTHER_REPORTS.items():
        if (run_path / relative).is_file():
            attempts.setdefault(suite, []).append((0, run_path / relative))
    return {suite: [path for _, path in sorted(found)] for suite, found in sorted(attempts.items())}


def suite_element(
    suite: str, paths: list[Path], review: QuarantineReview, run_path: Path
) -> ElementTree.Element:
    element = ElementTree.Element("testsuite", {"name": suite})
    try:
        cases = final_cases(paths)
    except EvidenceError as error:
        # A report that cannot be read is shown as an error, so the merged file never hides it.
        log.warning("merged JUnit XML: suite %s: %s", suite, error)
        relative = ", ".join(path.relative_to(run_path).as_posix() for path in paths)
        case = ElementTree.SubElement(element, "testcase", {"classname": suite, "name": "report"})
        ElementTree.SubElement(case, "error", {"message": f"{relative}: {error}"})
        cases = []
    excused = {test.test: test for test in review.excused}
    expired = {test.test: test for test in review.expired}
    for original in cases:
        case = copy.deepcopy(original)
        identity = case_id(case)
        if identity in excused:
            mark_excused(case, excused[identity])
        elif identity in expired:
            test = expired[identity]
            note = f"expired on {test.expires} (owner {test.owner})"
            add_properties(case, {"quarantine": note})
        element.append(case)
    add_totals(element, element.findall("testcase"))
    return element


def mark_excused(case: ElementTree.Element, test: QuarantinedTest) -> None:
    """Turn an excused failure into a skip that keeps the failure's text and the entry's details."""
    details = []
    for tag in ("failure", "error"):
        for verdict in case.findall(tag):
            details.append(verdict.get("message") or verdict.text or tag)
            case.remove(verdict)
    skipped = ElementTree.Element("skipped", {"type": "quarantined", "message": test.summary()})
    skipped.text = "\n".join(details)
    case.insert(len(case.findall("properties")), skipped)
    properties = {
        "quarantine.owner": test.owner,
        "quarantine.expires": test.expires,
        "quarantine.reason": test.reason,
        "quarantine.outcome": test.outcome,
    }
    if test.ticket:
        properties["quarantine.ticket"] = test.ticket
    add_properties(case, properties)


def add_properties(case: ElementTree.Element, values: dict[str, str]) -> None:
    properties = case.find("properties")
    if properties is None:
        properties = ElementTree.Element("properties")
        case.insert(0, properties)
    for name, value in values.items():
        ElementTree.SubElement(properties, "property", {"name": name, "value": value})


def security_element(findings: Path) -> ElementTree.Element:
    """Turn the security suite's findings.json into testcases; an unreadable file is an error."""
    element = ElementTree.Element("testsuite", {"name": "security"})
    try:
        data = json.loads(findings.read_text(encoding="utf-8"))
        probes = [
            (str(p["check"]), str(p["subject"]), bool(p["passed"]), str(p["detail"]))
            for p in data["probes"]
        ]
        new_findings = list(data["sast_new_findings"])
        stale = list(data["stale_baseline_entries"])
        sast_error, dast_error = str(data["sast_error"]), str(data["dast_error"])
    except (OSError, ValueError, KeyError, TypeError) as error:
        case = ElementTree.SubElement(
            element, "testcase", {"classname": "security", "name": "report"}
        )
        ElementTree.SubElement(case, "error", {"message": f"{SECURITY_FINDINGS}: {error}"})
        add_totals(element, element.findall("testcase"))
        return element

    for check, subject, passed, detail in probes:
        case = ElementTree.SubElement(
            element, "testcase", {"classname": f"security.dast.{check}", "name": subject}
        )
        if not passed:
            ElementTree.SubElement(case, "failure", {"message": detail})
    if dast_error:
        case = ElementTree.SubElement(
            element, "testcase", {"classname": "security.dast", "name": "probes"}
        )
        ElementTree.SubElement(case, "error", {"message": dast_error})
    sast = ElementTree.SubElement(
        element, "testcase", {"classname": "security.sast", "name": "findings outside the baseline"}
    )
    if sast_error:
        ElementTree.SubElement(sast, "error", {"message": sast_error})
    elif new_findings:
        lines = [
            f"{f.get('severity')} {f.get('test_id')} {f.get('path')}:{f.get('line')}"
            for f in new_findings
        ]
        failure = ElementTree.SubElement(
            sast,
            "failure",
            {"message": f"{len(new_findings)} bandit findings are not in the baseline"},
        )
        failure.text = "\n".join(lines)
    baseline = ElementTree.SubElement(
        element, "testcase", {"classname": "security.sast", "name": "baseline entries current"}
    )
    if stale:
        failure = ElementTree.SubElement(
            baseline, "failure", {"message": f"{len(stale)} baseline entries match no finding"}
        )
        failure.text = "\n".join(map(str, stale))
    add_totals(element, element.findall("testcase"))
    return element


def gates_element(stage: str, results: list[GateResult]) -> ElementTree.Element:
    element = ElementTree.Element("testsuite", {"name": "gates"})
    for result in results:
        element.append(gate_case(stage, result))
    add_totals(element, element.findall("testcase"))
    return element


def gate_case(stage: str, result: GateResult) -> ElementTree.Element:
    gate = result.gate
    case = ElementTree.Element(
        "testcase", {"classname": f"gates.{stage}", "name": gate.name, "time": "0"}
    )
    actual = "-" if result.actual is None else format_fraction(result.actual)
    threshold = f"{gate.comparison} {gate.threshold}"
    properties = {
        "metric": gate.metric_key,
        "actual": actual,
        "threshold": threshold,
        "outcome": result.outcome.value,
        "blocking": str(gate.blocking).lower(),
    }
    add_properties(case, properties)
    if result.outcome is Outcome.PASS:
        return case

    message = f"{result.outcome}: {gate.metric_key} actual {actual}, threshold {threshold}"
    message += f": {result.reason}"
    if gate.blocking:
        ElementTree.SubElement(case, "failure", {"type": result.outcome.value, "message": message})
    else:
        ElementTree.SubElement(case, "system-out").text = message
    return case


def add_totals(element: ElementTree.Element, children: list[ElementTree.Element]) -> None:
    """Set tests, failures, errors, skipped and time from testcases or from testsuites."""
    if element.tag == "testsuites":
        totals = {
            name: sum(int(child.get(name, "0")) for child in children)
            for name in ("tests", "failures", "errors", "skipped")
        }
        seconds = sum(float(child.get("time", "0")) for child in children)
    else:
        totals = {"tests": len(children), "failures": 0, "errors": 0, "skipped": 0}
        for case in children:
            verdict = next((tag for tag in VERDICT_TOTALS if case.find(tag) is not None), None)
            if verdict is not None:
                totals[VERDICT_TOTALS[verdict]] += 1
        seconds = sum(float(case.get("time") or "0") for case in children)
    for name, value in totals.items():
        element.set(name, str(value))
    element.set("time", f"{seconds:.3f}")
