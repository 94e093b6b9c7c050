"""Read a distributed Locust run's result and decide whether its numbers can be trusted.

The master writes `result.json` (suites/load/locustfile.py): every endpoint's response-time
histogram, the totals the master received from each worker, the totals each worker reports it sent,
and a timeline of connected users. This module checks that the books balance and computes the
statistics the gates read.

Locust keeps response times rounded to two significant digits (1 ms steps below 100 ms, 10 ms
below 1 s, 100 ms below 10 s, 1 s above), so a percentile read from its histogram can sit below
the true value. Every percentile here is the top of its bucket, capped at the exact maximum, so
it is an upper bound: a gate that passes on it passes on the true value too.
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

from harness.evidence.junit import EvidenceError

__all__ = [
    "DELIVERY",
    "EndpointStats",
    "LoadSummary",
    "bucket_top",
    "percentile_upper_bound",
    "read_result",
    "summarize",
]

DELIVERY = "DELIVERY"
WEBSOCKET = "WS"
HTTP_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})
PERCENTILES = {"p50": Fraction(1, 2), "p95": Fraction(95, 100), "p99": Fraction(99, 100)}


def bucket_top(rounded: int) -> Fraction:
    """Return the largest response time in ms that Locust 2.x rounds to `rounded`."""
    if rounded < 100:
        return rounded + Fraction(1, 2)
    if rounded < 1000:
        return Fraction(rounded + 5)
    if rounded < 10000:
        return Fraction(rounded + 50)
    return Fraction(rounded + 500)


def percentile_upper_bound(
    histogram: dict[int, int], fraction: Fraction, maximum: Fraction
) -> Fraction:
    """Return an upper bound of the nearest-rank percentile, never above the exact maximum."""
    count = sum(histogram.values())
    rank = max(math.ceil(count * fraction), 1)
    seen = 0
    for rounded in sorted(histogram):
        seen += histogram[rounded]
        if seen >= rank:
            return min(bucket_top(rounded), maximum)
    return maximum


@dataclass(frozen=True)
class EndpointStats:
    """Requests, failures and latency upper bounds (ms) of one endpoint or of a group of them."""

    label: str
    requests: int
    failures: int
    percentiles: dict[str, Fraction]
    max_ms: Fraction

    @property
    def error_rate(self) -> Fraction:
        return Fraction(self.failures, self.requests) if self.requests else Fraction(0)


@dataclass(frozen=True)
class LoadSummary:
    """Statistics of a load run, and every reason its numbers cannot be trusted."""

    endpoints: list[EndpointStats]
    http: EndpointStats
    delivery: EndpointStats | None
    errors: EndpointStats
    users_held: int
    duration_s: Fraction
    aborted: str
    total_requests: int
    problems: list[str]

    @property
    def rps(self) -> Fraction:
        return self.http.requests / self.duration_s if self.duration_s > 0 else Fraction(0)


def read_result(path: Path) -> dict[str, Any]:
    """Parse result.json, raising EvidenceError when it is missing, unparsable or not a result."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise EvidenceError(f"{path.name} was not written") from None
    except (OSError, ValueError) as error:
        raise EvidenceError(f"{path.name} is unreadable: {error}") from None
    if not isinstance(data, dict) or data.get("format") != 1 or "total" not in data:
        raise EvidenceError(f"{path.name} is not a load result of format 1")
    return data


def exact(value: float | int | None) -> Fraction:
    return Fraction(str(value or 0))


def histogram_of(entry: dict[str, Any]) -> dict[int, int]:
    return {int(key): int(count) for key, count in entry["response_times"].items()}


def label_of(entry: dict[str, Any]) -> str:
    return f"{entry['method']} {entry['name']}".strip()


def combine(label: str, entries: list[dict[str, Any]]) -> EndpointStats:
    """Merge entries' histograms exactly and read the percentiles from the merged one."""
    histogram: dict[int, int] = {}
    for entry in entries:
        for rounded, count in histogram_of(entry).items():
            histogram[rounded] = histogram.get(rounded, 0) + count
    maximum = max((exact(entry["max_response_time"]) for entry in entries), default=Fraction(0))
    percentiles = {
        name: percentile_upper_bound(histogram, fraction, maximum)
        for name, fraction in PERCENTILES.items()
    }
    return EndpointStats(
        label=label,
        requests=sum(int(entry["num_requests"]) for entry in entries),
        failures=sum(int(entry["num_failures"]) for entry in entries),
        percentiles=percentiles,
        max_ms=maximum,
    )


def users_held(data: dict[str, Any]) -> int:
    """Return the fewest connected users the workers reported during the hold.

    The hold starts when every user is connected, or when the master stopped waiting for them.
    """
    hold = float(data.get("hold_started_at") or 0)
    stop = float(data.get("stopped_at") or 0)
    timeline = data.get("timeline", [])
    during = [point for point in timeline if hold and hold <= point["t"] <= stop]
    return min((int(point["connected"]) for point in during), default=0)


def summarize(data: dict[str, Any], history_csv: Path | None = None) -> LoadSummary:
    """Compute the run's statistics and list every accounting problem found on the way."""
    entries = list(data["entries"])
    http = [entry for entry in entries if entry["method"] in HTTP_METHODS]
    delivery = [entry for entry in entries if entry["method"] == DELIVERY]
    counted = [entry for entry in entries if entry["method"] != DELIVERY]
    duration = exact(data.get("stopped_at")) - exact(data.get("started_at"))
    endpoints = [combine(label_of(entry), [entry]) for entry in sorted(entries, key=label_of)]
    summary = LoadSummary(
        endpoints=endpoints,
        http=combine("HTTP", http),
        delivery=combine(f"{DELIVERY} message", delivery) if delivery else None,
        errors=combine("HTTP and WS", counted),
        users_held=users_held(data),
        duration_s=duration,
        aborted=str(data.get("aborted") or ""),
        total_requests=int(data["total"]["num_requests"]),
        problems=[],
    )
    summary.problems.extend(accounting_problems(data))
    summary.problems.extend(histogram_problems(entries, data["total"]))
    summary.problems.extend(order_problems(summary))
    if history_csv is not None:
        summary.problems.extend(csv_problems(history_csv, summary.total_requests))
    return summary


def accounting_problems(data: dict[str, Any]) -> list[str]:
    """Return every mismatch between the master's totals and those the workers report they sent."""
    problems = []
    if not data.get("complete"):
        problems.append("the master stopped before it collected the workers' totals")
    workers: dict[str, dict[str, Any]] = data.get("workers", {})
    expected = int(data.get("expected_workers", 0))
    settled = [worker_id for worker_id, worker in workers.items() if worker.get("sent")]
    if len(settled) < expected:
        problems.append(f"only {len(settled)} of {expected} workers confirmed their totals")
    for worker_id, worker in sorted(workers.items()):
        problems.extend(worker_problems(worker_id, worker))
    if int(data.get("discarded_reports", 0)):
        problems.append(f"the master discarded {data['discarded_reports']} worker reports")
    received = sum(int(worker["requests"]) for worker in workers.values())
    total = int(data["total"]["num_requests"])
    if received != total:
        problems.append(f"master total {total} requests != sum of worker reports {received}")
    return problems


def worker_problems(worker_id: str, worker: dict[str, Any]) -> list[str]:
    problems = []
    if worker.get("went_missing"):
        problems.append(f"worker {worker_id} went missing during the run")
    if int(worker.get("gaps", 0)):
        problems.append(f"the master missed {worker['gaps']} reports of worker {worker_id}")
    sent = worker.get("sent")
    if not sent:
        problems.append(f"worker {worker_id} sent no totals")
        return problems
    # Reports keep coming every few seconds after the totals, so the comparison uses what the
    # master had received when the totals arrived. Later reports must carry no request.
    received = worker.get("received") or worker
    for key in ("reports", "requests", "failures"):
        if int(sent[key]) != int(received[key]):
            problems.append(
                f"worker {worker_id} sent {sent[key]} {key} but the master received {received[key]}"
            )
    late = int(worker["requests"]) - int(received["requests"])
    if late:
        problems.append(f"worker {worker_id} reported {late} requests after its totals")
    return problems


def histogram_problems(entries: list[dict[str, Any]], total: dict[str, Any]) -> list[str]:
    problems = []
    for entry in entries:
        timed = int(entry["num_requests"]) - int(entry.get("num_none_requests", 0))
        if sum(histogram_of(entry).values()) != timed:
            problems.append(f"{label_of(entry)}: histogram does not add up to {timed} requests")
    summed = sum(int(entry["num_requests"]) for entry in entries)
    if summed != int(total["num_requests"]):
        problems.append(f"endpoints add up to {summed} requests, total is {total['num_requests']}")
    return problems


def order_problems(summary: LoadSummary) -> list[str]:
    groups = [*summary.endpoints, summary.http, summary.errors]
    problems = []
    for stats in groups:
        p = stats.percentiles
        if stats.requests and not p["p50"] <= p["p95"] <= p["p99"] <= stats.max_ms:
            problems.append(f"{stats.label}: p50 <= p95 <= p99 <= max does not hold")
    return problems


def csv_problems(history_csv: Path, total_requests: int) -> list[str]:
    """Compare the last aggregated row of Locust's own history CSV with the result's total."""
    try:
        with history_csv.open(newline="", encoding="utf-8") as stream:
            rows = [row for row in csv.DictReader(stream) if row.get("Name") == "Aggregated"]
    except OSError as error:
        return [f"{history_csv.name} is unreadable: {error.strerror}"]
    if not rows:
        return [f"{history_csv.name} has no aggregated row"]
    counted = int(rows[-1]["Total Request Count"])
    if counted != total_requests:
        return [f"{history_csv.name} counts {counted} requests, the result {total_requests}"]
    return []
