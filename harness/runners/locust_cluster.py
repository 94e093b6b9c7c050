"""A Locust master and its local workers as child processes, watched and stopped by PID.

The master binds to loopback by default. It can also accept workers from other machines (see
docs/load-kubernetes.md): they count toward --expect-workers like the local ones.
"""

from __future__ import annotations

import csv
import json
import logging
import shlex
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from harness.process import stop_child

__all__ = ["ClusterSpec", "LocustCluster", "ProcessUsage", "live_line"]

log = logging.getLogger(__name__)

POLL_INTERVAL_S = 1.0
LIVE_INTERVAL_S = 5.0


@dataclass(frozen=True)
class ClusterSpec:
    """How to start the master and the local workers, and how long they may run."""

    master: list[str]
    worker: list[str]
    local_workers: int
    cwd: Path
    env: Mapping[str, str]
    logs: Path
    timeout_s: float
    history_csv: Path
    usage_json: Path


@dataclass
class ProcessUsage:
    """CPU time and peak resident memory of one Locust process, sampled while it ran."""

    role: str
    pid: int
    cpu_s: float = 0.0
    max_rss_bytes: int = 0

    def sample(self) -> None:
        # psutil comes with the load extra; importing it here keeps the registry importable
        # in environments set up for other suites.
        import psutil

        try:
            process = psutil.Process(self.pid)
            times = process.cpu_times()
            self.cpu_s = times.user + times.system
            self.max_rss_bytes = max(self.max_rss_bytes, process.memory_info().rss)
        except psutil.Error:
            pass  # The process has ended, so its last sample is kept.


@dataclass
class LocustCluster:
    """Runs one distributed Locust test and returns the master's exit code."""

    spec: ClusterSpec
    master: subprocess.Popen[bytes] | None = None
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)
    usage: list[ProcessUsage] = field(default_factory=list)

    def run(self) -> int:
        """Start master and workers, log a live line every few seconds, and wait for the master.

        The master ends the test by itself. Past the time limit, or on KeyboardInterrupt, every
        process is terminated by its PID. Workers still running after the master are stopped too.
        """
        try:
            self.master = self.start("master", self.spec.master)
            for number in range(1, self.spec.local_workers + 1):
                self.workers.append(self.start(f"worker-{number}", self.spec.worker))
            return self.wait_for_master()
        finally:
            self.stop_all()
            self.write_usage()

    def start(self, role: str, command: Sequence[str]) -> subprocess.Popen[bytes]:
        output = self.spec.logs / f"locust-{role}.log"
        log.info("running: %s", shlex.join(command))
        with output.open("ab") as stream:
            child = subprocess.Popen(
                list(command),
                cwd=self.spec.cwd,
                env=dict(self.spec.env),
                stdout=stream,
                stderr=stream,
            )
        log.info("started locust %s (pid %d), output in %s", role, child.pid, output)
        self.usage.append(ProcessUsage(role, child.pid))
        return child

    def wait_for_master(self) -> int:
        assert self.master is not None
        deadline = time.monotonic() + self.spec.timeout_s
        next_live = time.monotonic() + LIVE_INTERVAL_S
        while (code := self.master.poll()) is None:
            if time.monotonic() > deadline:
                log.error(
                    "locust master ran past its limit of %g s; stopping it", self.spec.timeout_s
                )
                return -1
            for usage in self.usage:
                usage.sample()
            if time.monotonic() >= next_live:
                line = live_line(self.spec.history_csv)
                if line:
                    log.info("%s", line)
                next_live += LIVE_INTERVAL_S
            time.sleep(POLL_INTERVAL_S)
        if code != 0:
            log.info("locust master exited with code %d", code)
        return code

    def stop_all(self) -> None:
        for child in [*self.workers, *([self.master] if self.master else [])]:
            if child.poll() is None:
                stop_child(child, "locust")

    def write_usage(self) -> None:
        """Record the generator's CPU seconds and peak memory per process, for benchmarks."""
        data = [asdict(usage) for usage in self.usage]
        self.spec.usage_json.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
        cpu_s = sum(usage.cpu_s for usage in self.usage)
        log.info("load generator used %.1f CPU seconds in %d processes", cpu_s, len(self.usage))


def live_line(history_csv: Path) -> str:
    """Summarize the newest aggregated row of Locust's history CSV for a person watching."""
    try:
        with history_csv.open(newline="", encoding="utf-8") as stream:
            rows = [row for row in csv.DictReader(stream) if row.get("Name") == "Aggregated"]
    except OSError:
        return ""
    if not rows:
        return ""
    row = rows[-1]
    return (
        f"load: {row['User Count']} users, {float(row['Requests/s']):.1f} req/s, "
        f"p95 {row['95%']} ms, {row['Total Failure Count']} failures "
        f"of {row['Total Request Count']} requests"
    )
