"""Metrics: named, exact values with the provenance that lets a gate trust or reject them."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from pathlib import Path

from harness.runs import RunFolder, write_json_atomically

__all__ = ["Metric", "MetricStore", "MetricsUnreadable", "file_sha256", "metric_key"]

METRICS_DIR = "metrics"


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 16), b""):
            digest.update(block)
    return digest.hexdigest()


def metric_key(name: str, labels: dict[str, str]) -> str:
    """Identify a metric by name and labels, as in load.peak.p95_ms{name="POST /api/login"}."""
    if not labels:
        return name
    selector = ",".join(f'{key}="{value}"' for key, value in sorted(labels.items()))
    return f"{name}{{{selector}}}"


@dataclass(frozen=True)
class Metric:
    """One measured value, or the reason it could not be measured.

    `exact` holds the value as a fraction string ("8999/10000") so gates compare without rounding;
    `value` is the same number for people and charts. `evidence` is relative to the run folder.
    """

    name: str
    suite: str
    run_id: str
    build_id: str
    environment: str
    evidence: str
    evidence_sha256: str
    exact: str | None = None
    value: float | None = None
    unknown_reason: str = ""
    labels: dict[str, str] = field(default_factory=dict)

    @property
    def known(self) -> bool:
        return self.exact is not None

    @property
    def key(self) -> str:
        return metric_key(self.name, self.labels)

    def fraction(self) -> Fraction:
        if self.exact is None:
            raise ValueError(f"metric {self.name} has no value: {self.unknown_reason}")
        return Fraction(self.exact)


class MetricsUnreadable(Exception):
    """A metrics file exists but cannot be parsed; gates that need it fail closed."""


@dataclass
class MetricStore:
    """Reads and writes metrics/<suite>.json inside one run folder."""

    run: RunFolder

    def write(self, suite: str, metrics: list[Metric]) -> Path:
        path = self.run.subdir(METRICS_DIR) / f"{suite}.json"
        write_json_atomically(path, {"suite": suite, "metrics": [asdict(m) for m in metrics]})
        return path

    def read_all(self) -> tuple[dict[str, Metric], dict[str, str]]:
        """Return metrics by key, and for each unreadable file its suite and the parse error.

        A metric's key is its name, followed by its labels when it has any (see metric_key).
        """
        metrics: dict[str, Metric] = {}
        problems: dict[str, str] = {}
        for path in sorted((self.run.path / METRICS_DIR).glob("*.json")):
            try:
                for metric in parse_metrics_file(path):
                    metrics[metric.key] = metric
            except MetricsUnreadable as error:
                problems[path.stem] = str(error)
        return metrics, problems


def parse_metrics_file(path: Path) -> list[Metric]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return [Metric(**entry) for entry in data["metrics"]]
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise MetricsUnreadable(f"{path.name} is unreadable: {error}") from None
