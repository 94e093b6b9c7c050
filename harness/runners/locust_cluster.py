"""A Locust master and its local workers as child processes, watched and stopped by PID.

The master binds to loopback by default. It can also accept workers from other machines (see
docs/load-kubernetes.md): they count toward --expect-workers like the local ones.
"""

from __future__ import annotations

import csv
import logging
import shlex
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["ClusterSpec", "LocustCluster", "live_line"]

log = logging.getLogger(__name__)

TERMINATE_TIMEOUT_S = 15.0
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


@dataclass
class LocustCluster:
    """Runs one distributed Locust test and returns the master's exit code."""

    spec: ClusterSpec
    master: subprocess.Popen[bytes] | None = None
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def run(self) -> int:
        """Start master and workers, print a live line now and then, and wait for the master.

        The master ends the test by itself. Past the time limit, or on KeyboardInterrupt, every
        process is terminated by its PID; workers still running after the master are stopped too.
        """
        try:
            self.master = self.start("master", self.spec.master)
            for number in range(1, self.spec.local_workers + 1):
                self.workers.append(self.start(f"worker-{number}", self.spec.worker))
            return self.wait_for_master()
        finally:
            self.stop_all()

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
                stop_child(child)


def stop_child(child: subprocess.Popen[bytes]) -> None:
    child.terminate()
    try:
        child.wait(TERMINATE_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        log.warning("locust pid %d ignored SIGTERM; killing it", child.pid)
        child.kill()
        child.wait()


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
