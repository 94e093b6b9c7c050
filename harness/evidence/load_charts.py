"""Charts of a load run over time, drawn from Locust's history CSV (`--csv-full-history`)."""

from __future__ import annotations

import csv
import datetime
from collections import defaultdict
from pathlib import Path
from typing import Any

__all__ = ["draw_charts"]

HistoryRow = dict[str, str]


def read_rows(history_csv: Path) -> list[HistoryRow]:
    with history_csv.open(newline="", encoding="utf-8") as stream:
        return list(csv.DictReader(stream))


def number(text: str) -> float:
    """Parse a CSV cell; Locust writes N/A where a window had no requests."""
    try:
        return float(text)
    except ValueError:
        return float("nan")


def series(rows: list[HistoryRow], column: str) -> tuple[list[datetime.datetime], list[float]]:
    times = [datetime.datetime.fromtimestamp(int(row["Timestamp"]), datetime.UTC) for row in rows]
    return times, [number(row[column]) for row in rows]


def pyplot() -> Any:
    """Import matplotlib on first use: it comes with the load extra, which other suites lack."""
    import matplotlib

    matplotlib.use("Agg")  # Files only: no display is needed or wanted.
    import matplotlib.pyplot

    return matplotlib.pyplot


def draw_charts(history_csv: Path, output: Path) -> Path:
    """Draw users, requests per second, aggregate p50/p95/p99 and p95 per endpoint into a PNG.

    Percentiles in the history are Locust's rolling values over about the last 10 s.
    """
    plt = pyplot()
    rows = read_rows(history_csv)
    total = [row for row in rows if row["Name"] == "Aggregated"]
    by_endpoint: dict[str, list[HistoryRow]] = defaultdict(list)
    for row in rows:
        if row["Name"] != "Aggregated":
            by_endpoint[f"{row['Type']} {row['Name']}"].append(row)

    figure, axes = plt.subplots(4, 1, figsize=(10, 12), sharex=True)
    axes[0].plot(*series(total, "User Count"), color="tab:blue")
    axes[0].set_ylabel("users")
    axes[1].plot(*series(total, "Requests/s"), label="all", color="tab:green")
    axes[1].plot(*series(total, "Failures/s"), label="failures", color="tab:red")
    axes[1].set_ylabel("requests/s")
    axes[1].legend(loc="upper left")
    for column in ("50%", "95%", "99%"):
        axes[2].plot(*series(total, column), label=f"p{column.rstrip('%')}")
    axes[2].set_ylabel("all requests, ms")
    axes[2].legend(loc="upper left")
    for label, endpoint_rows in sorted(by_endpoint.items()):
        axes[3].plot(*series(endpoint_rows, "95%"), label=label)
    axes[3].set_ylabel("p95 per endpoint, ms")
    axes[3].legend(loc="upper left", fontsize="small")
    axes[3].set_xlabel("time (UTC)")
    figure.suptitle("Load run over time")
    figure.tight_layout()
    figure.savefig(output, dpi=80)
    plt.close(figure)
    return output
