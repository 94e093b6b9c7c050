"""Operating-system limits that decide whether a load profile's user count can be reached at all.

Every chat user keeps two TCP connections open: its HTTP keep-alive connection and its WebSocket. On
this machine both ends are local, so each connection costs a file descriptor in a Locust worker,
one in the service, and an ephemeral port. The harness raises its soft RLIMIT_NOFILE to the hard
limit (children inherit it) and rejects a profile that cannot fit, naming the limit, before
anything starts.
"""

from __future__ import annotations

import logging
import math
import resource
from dataclasses import dataclass
from pathlib import Path

from harness.config.load_profile import LoadProfile
from harness.errors import Problem, UsageError

__all__ = ["LimitPlan", "check_limits", "raise_open_file_limit"]

log = logging.getLogger(__name__)

PORT_RANGE_FILE = Path("/proc/sys/net/ipv4/ip_local_port_range")
# Room for log files, the database, pipes and listening sockets beside the connections.
SPARE_FILES = 256
# Uvicorn closes an idle HTTP keep-alive connection after 5 s (its timeout_keep_alive default),
# so the service keeps about that many seconds of requests' connections open beside the WebSockets.
KEEP_ALIVE_S = 5
# Requests per user during its start: login, join, history and the WebSocket handshake.
START_REQUESTS = 4


@dataclass(frozen=True)
class LimitPlan:
    """A profile placed on workers: the local and remote worker counts and the target kind."""

    profile: LoadProfile
    local_workers: int
    remote_workers: int
    embedded: bool

    @property
    def local_users(self) -> int:
        total = self.local_workers + self.remote_workers
        return math.ceil(self.profile.users * self.local_workers / total)

    @property
    def files_per_worker(self) -> int:
        return 2 * math.ceil(self.local_users / max(self.local_workers, 1)) + SPARE_FILES

    @property
    def service_files(self) -> int:
        """An estimate: one WebSocket per user plus the HTTP connections of KEEP_ALIVE_S."""
        profile = self.profile
        rate = profile.messages_per_s + profile.spawn_rate * START_REQUESTS
        return profile.users + min(profile.users, math.ceil(rate * KEEP_ALIVE_S)) + SPARE_FILES


def raise_open_file_limit() -> int:
    """Raise the soft RLIMIT_NOFILE to the hard limit where the system allows, return the soft."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft >= hard:
        return soft
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    except (ValueError, OSError) as error:
        log.warning("could not raise the open-file limit from %d to %d: %s", soft, hard, error)
        return soft
    log.info("raised the open-file limit from %d to %d for the load run", soft, hard)
    return hard


def ephemeral_ports() -> tuple[int, int] | None:
    try:
        low, high = PORT_RANGE_FILE.read_text(encoding="ascii").split()
    except (OSError, ValueError):
        return None
    return int(low), int(high)


def check_limits(plan: LimitPlan, open_files: int) -> None:
    """Raise UsageError when open files or local ports cannot carry the profile's users."""
    name = f"load profile {plan.profile.name} ({plan.profile.users} users)"
    if plan.files_per_worker > open_files:
        raise UsageError(
            Problem.LOAD_LIMIT,
            {
                "profile": name,
                "needed": plan.files_per_worker,
                "resource": "open files per Locust worker",
                "limit": f"the open-file limit (RLIMIT_NOFILE) is {open_files}",
                "advice": "use more --workers, or raise the hard limit (ulimit -Hn)",
            },
        )
    if plan.embedded and plan.service_files > open_files:
        raise UsageError(
            Problem.LOAD_LIMIT,
            {
                "profile": name,
                "needed": plan.service_files,
                "resource": "open files in the embedded service",
                "limit": f"the open-file limit (RLIMIT_NOFILE) is {open_files}",
                "advice": "raise the hard limit (ulimit -Hn) or lower users in the profile",
            },
        )
    check_ports(plan, name)


def check_ports(plan: LimitPlan, name: str) -> None:
    ports = ephemeral_ports()
    needed = 2 * plan.local_users
    if ports is None or needed <= ports[1] - ports[0] + 1:
        return
    raise UsageError(
        Problem.LOAD_LIMIT,
        {
            "profile": name,
            "needed": needed,
            "resource": "local ports for its connections",
            "limit": f"the ephemeral port range is {ports[0]}-{ports[1]}",
            "advice": "widen net.ipv4.ip_local_port_range or run workers on other machines",
        },
    )
