"""Metrics of a load run: load.<profile>.<statistic>, overall and per endpoint (label `name`)."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

from harness.evidence.locust import EndpointStats, LoadSummary
from harness.metrics import Metric
from harness.runners.base import RunContext, metric_from

__all__ = ["load_metrics", "stats_document", "unknown_metrics"]

SUITE = "load"
LATENCY_NAMES = ("p50", "p95", "p99")
DELIVERY_NAMES = ("delivery_p50_ms", "delivery_p95_ms", "delivery_p99_ms", "deliveries")


def latency_values(stats: EndpointStats, prefix: str = "") -> dict[str, int | Fraction]:
    values: dict[str, int | Fraction] = {
        f"{prefix}{name}_ms": stats.percentiles[name] for name in LATENCY_NAMES
    }
    values[f"{prefix}max_ms"] = stats.max_ms
    return values


def endpoint_values(stats: EndpointStats, duration_s: Fraction) -> dict[str, int | Fraction]:
    rps = stats.requests / duration_s if duration_s > 0 else Fraction(0)
    return {
        "requests": stats.requests,
        "failures": stats.failures,
        "error_rate": stats.error_rate,
        "rps": rps,
        **latency_values(stats),
    }


def overall_values(summary: LoadSummary) -> dict[str, int | Fraction]:
    """Return the run's headline values: HTTP latency and rate, errors over HTTP and WebSocket."""
    return {
        "users": summary.users_held,
        "rps": summary.rps,
        "requests": summary.http.requests,
        "failures": summary.errors.failures,
        "error_rate": summary.errors.error_rate,
        "completed": 0 if summary.aborted else 1,
        **latency_values(summary.http),
    }


def delivery_values(summary: LoadSummary) -> dict[str, int | Fraction]:
    delivery = summary.delivery
    assert delivery is not None
    return {**latency_values(delivery, "delivery_"), "deliveries": delivery.requests}


def named(profile: str, values: dict[str, int | Fraction]) -> dict[str, int | Fraction]:
    return {f"{SUITE}.{profile}.{name}": value for name, value in values.items()}


def load_metrics(
    context: RunContext, profile: str, evidence: Path, summary: LoadSummary, unknown: str
) -> list[Metric]:
    """Build every metric of the run; with `unknown` set, all are recorded unknown for it."""
    overall = named(profile, overall_values(summary))
    metrics = metric_from(context, SUITE, evidence, overall, unknown)
    if summary.delivery is None:
        reason = unknown or "no message reached another member's socket"
        zeros: dict[str, int | Fraction] = dict.fromkeys(DELIVERY_NAMES, 0)
        metrics += metric_from(context, SUITE, evidence, named(profile, zeros), reason)
    else:
        values = named(profile, delivery_values(summary))
        metrics += metric_from(context, SUITE, evidence, values, unknown)
    for stats in summary.endpoints:
        values = named(profile, endpoint_values(stats, summary.duration_s))
        labels = {"name": stats.label}
        metrics += metric_from(context, SUITE, evidence, values, unknown, labels)
    return metrics


def unknown_metrics(context: RunContext, profile: str, evidence: Path, reason: str) -> list[Metric]:
    """Record the headline metrics as unknown, so their gates name the reason."""
    names = ["users", "rps", "requests", "failures", "error_rate", "completed"]
    names += [f"{name}_ms" for name in (*LATENCY_NAMES, "max")]
    names += list(DELIVERY_NAMES)
    zeros: dict[str, int | Fraction] = dict.fromkeys(names, 0)
    return metric_from(context, SUITE, evidence, named(profile, zeros), reason)


def stats_document(summary: LoadSummary) -> dict[str, object]:
    """Final statistics per endpoint as JSON: exact values as fractions, and floats to read."""

    def describe(stats: EndpointStats) -> dict[str, object]:
        values = endpoint_values(stats, summary.duration_s)
        return {
            "name": stats.label,
            **{key: float(value) for key, value in values.items()},
            "exact": {key: str(value) for key, value in values.items()},
        }

    return {
        "users_held": summary.users_held,
        "duration_s": float(summary.duration_s),
        "aborted": summary.aborted,
        "problems": summary.problems,
        "http": describe(summary.http),
        "delivery": describe(summary.delivery) if summary.delivery else None,
        "endpoints": [describe(stats) for stats in summary.endpoints],
    }
