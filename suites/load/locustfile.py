"""Locust model of Agent Chat users, with the bookkeeping the harness needs to trust the numbers.

A chat user logs in, joins its room, opens the WebSocket, reads the room's recent history, then
posts a message after every think time and receives the room's messages as they arrive. HTTP
requests go through FastHttpUser. The WebSocket uses websocket-client, whose blocking socket calls
cooperate with gevent because Locust monkey-patches the standard library before this file loads.
Message delivery latency, from a post to its arrival on another member's socket, is recorded as
request type DELIVERY.

The master drives the run through ChatShape: ramp, hold, stop every user, then ask each worker
for the totals it reported, and write everything the harness reads into --chat-result. The file
is self-contained because remote workers may receive it from the master (`-f -`).
"""

from __future__ import annotations

import functools
import itertools
import json
import logging
import os
import random
import time
import urllib.error
import urllib.request
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import gevent
import websocket
from locust import FastHttpUser, LoadTestShape, events, task
from locust.env import Environment
from locust.runners import MasterRunner, WorkerRunner
from locust.stats import StatsEntry

log = logging.getLogger("chat_load")

LOAD_SECRET_ENV = "AGENT_CHAT_LOAD_SECRET"
DELIVERY = "DELIVERY"
DELIVERY_NAME = "message"
WEBSOCKET = "WS"
WEBSOCKET_NAME = "/api/ws"
SENT_MARK = "sent_ms="
# Workers report every 3 s (locust.runners.WORKER_REPORT_INTERVAL). Waiting a little longer
# after the users stopped makes sure their last samples were sent before the totals.
REPORT_SETTLE_S = 4.0
STOP_WAIT_S = 60.0
# The hold starts when every user is connected, but no later than this after the ramp.
CONNECT_WAIT_S = 60.0
TOTALS_WAIT_S = 30.0
WINDOW_TICKS = 10


def add_arguments(parser: Any) -> None:
    group = parser.add_argument_group("chat load model")
    group.add_argument("--chat-users", type=int, default=1, help="Chat users to hold")
    group.add_argument("--chat-spawn-rate", type=float, default=1.0, help="Users started per s")
    group.add_argument("--chat-hold-s", type=float, default=10.0, help="Hold time after the ramp")
    group.add_argument("--chat-think-min-s", type=float, default=1.0, help="Minimum think time (s)")
    group.add_argument("--chat-think-max-s", type=float, default=2.0, help="Maximum think time (s)")
    group.add_argument("--chat-room-size", type=int, default=10, help="Users per room")
    group.add_argument("--chat-history-limit", type=int, default=50, help="Messages read on join")
    group.add_argument("--chat-max-rps", type=float, default=0.0, help="Request cap, 0 for none")
    group.add_argument("--chat-realtime-url", default="", help="ws:// base of the WebSocket")
    group.add_argument("--chat-result", default="", help="Result JSON the master writes")
    group.add_argument("--chat-abort", default="[]", help="JSON list of sustained-breach rules")
    group.add_argument("--chat-room-ids", default="", help="Set by the master after setup")


events.init_command_line_parser.add_listener(add_arguments)


ENVIRONMENT: list[Environment] = []


def environment_of() -> Environment:
    return ENVIRONMENT[0]


def options(environment: Environment) -> Any:
    return environment.parsed_options


# ---------------------------------------------------------------------------------------------
# Setup on the master: one room per room_size users, created before any user starts.


def http_json(url: str, body: dict[str, Any], token: str = "") -> tuple[int, Any]:
    data = json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method="POST")  # noqa: S310 - http(s) only
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - http(s) only
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, None


def get_json(url: str, token: str) -> Any:
    headers = {"Authorization": f"Bearer {token}"}
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 - http(s) only
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - http(s) only
        return json.loads(response.read())


def create_rooms(host: str, room_count: int) -> list[int]:
    """Create rooms load-room-0000.. as load00000 and return their ids; existing ones are reused."""
    secret = os.environ.get(LOAD_SECRET_ENV, "")
    status, login = http_json(
        f"{host}/api/login", {"username": "load00000", "password": f"{secret}-load00000"}
    )
    if status != 200:
        raise RuntimeError(f"setup login as load00000 failed with HTTP {status}; check the secret")
    token = login["token"]
    ids: dict[str, int] = {}
    for number in range(room_count):
        name = f"load-room-{number:04d}"
        status, room = http_json(f"{host}/api/rooms", {"name": name}, token)
        if status == 201:
            ids[name] = room["id"]
    names = [f"load-room-{number:04d}" for number in range(room_count)]
    if any(name not in ids for name in names):
        # Rooms left by an earlier run against the same deployment are reused.
        listed = get_json(f"{host}/api/rooms", token)["rooms"]
        ids.update({room["name"]: room["id"] for room in listed if room["name"] not in ids})
    return [ids[name] for name in names]


@events.init.add_listener
def on_init(environment: Environment, **_kwargs: Any) -> None:
    # Reports can arrive while the rooms are being created, and their handlers need this.
    ENVIRONMENT[:] = [environment]
    runner = environment.runner
    if isinstance(runner, MasterRunner):
        Ledger.attach(environment)
        opts = options(environment)
        room_count = -(-opts.chat_users // opts.chat_room_size)
        room_ids = create_rooms(environment.host or "", room_count)
        # Custom options travel to the workers with every spawn message.
        opts.chat_room_ids = ",".join(str(room_id) for room_id in room_ids)
        log.info("created or found %d rooms for %d users", room_count, opts.chat_users)
    elif isinstance(runner, WorkerRunner):
        WorkerTally.attach(environment)


# ---------------------------------------------------------------------------------------------
# Worker side: what each worker reported, and its connected-user gauge.


class WorkerTally:
    """Counts every report a worker sends, so the master can prove it received all of them."""

    reports = 0
    requests = 0
    failures = 0
    connected = 0

    @classmethod
    def attach(cls, environment: Environment) -> None:
        environment.events.report_to_master.add_listener(cls.on_report)
        assert environment.runner is not None
        environment.runner.register_message("chat_flush", cls.on_flush, concurrent=True)

    @classmethod
    def on_report(cls, client_id: str, data: dict[str, Any]) -> None:
        # Locust's own listener may run before or after this one. Before it, the live total is
        # what it is about to send. After it, the total is in the report.
        total = data.get("stats_total") or StatsEntry.serialize(environment_of().stats.total)
        cls.reports += 1
        cls.requests += int(total["num_requests"])
        cls.failures += int(total["num_failures"])
        data["chat_seq"] = cls.reports
        data["chat_connected"] = cls.connected

    @classmethod
    def on_flush(cls, environment: Environment, msg: Any) -> None:
        gevent.sleep(REPORT_SETTLE_S)
        totals = {"reports": cls.reports, "requests": cls.requests, "failures": cls.failures}
        assert environment.runner is not None
        environment.runner.send_message("chat_totals", totals)


# ---------------------------------------------------------------------------------------------
# The chat user.


class RateCap:
    """Space this worker's requests so that they stay under its share of --chat-max-rps."""

    next_at = 0.0

    @classmethod
    def wait(cls, environment: Environment) -> None:
        cap = options(environment).chat_max_rps
        if cap <= 0:
            return
        workers = max(int(options(environment).expect_workers or 1), 1)
        now = time.monotonic()
        slot = max(now, cls.next_at)
        cls.next_at = slot + workers / cap
        if slot > now:
            gevent.sleep(slot - now)


USER_NUMBERS = itertools.count()


@functools.cache
def parse_room_ids(text: str) -> list[int]:
    """Parse the master's room list once per worker, not once per user."""
    return [int(part) for part in text.split(",") if part]


def parse_sent_ms(body: str) -> float | None:
    _, mark, rest = body.partition(SENT_MARK)
    if not mark:
        return None
    try:
        return float(rest.split()[0])
    except (ValueError, IndexError):
        return None


class ChatUser(FastHttpUser):
    """One concurrent chat user: a login, a room, an open WebSocket, and a message now and then."""

    def wait_time(self) -> float:
        opts = options(self.environment)
        return random.uniform(opts.chat_think_min_s, opts.chat_think_max_s)

    def on_start(self) -> None:
        opts = options(self.environment)
        runner = self.environment.runner
        workers = max(int(opts.expect_workers or 1), 1)
        index = getattr(runner, "worker_index", 0) or 0
        self.number = next(USER_NUMBERS) * workers + index
        self.username = f"load{self.number:05d}"
        self.socket: websocket.WebSocket | None = None
        self.receiver: gevent.Greenlet | None = None
        self.sequence = 0
        room_ids = parse_room_ids(opts.chat_room_ids)
        self.room_id = room_ids[(self.number // opts.chat_room_size) % len(room_ids)]
        self.token = self.login()
        self.join()
        self.connect()
        self.read_history()
        # Spread the first posts over one think time instead of sending them all at once.
        gevent.sleep(random.uniform(0, opts.chat_think_max_s))

    def on_stop(self) -> None:
        if self.receiver is not None:
            self.receiver.kill(block=False)
        self.close_socket()

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def login(self) -> str:
        RateCap.wait(self.environment)
        password = f"{os.environ.get(LOAD_SECRET_ENV, '')}-{self.username}"
        body = {"username": self.username, "password": password}
        with self.client.post(
            "/api/login", json=body, name="/api/login", catch_response=True
        ) as response:
            if response.status_code != 200:
                response.failure(f"login as {self.username} returned HTTP {response.status_code}")
                raise_stop(f"{self.username} could not log in")
            return str(response.json()["token"])

    def join(self) -> None:
        RateCap.wait(self.environment)
        self.client.post(
            f"/api/rooms/{self.room_id}/join",
            headers=self.headers(),
            name="/api/rooms/{room_id}/join",
        )

    def read_history(self) -> None:
        RateCap.wait(self.environment)
        limit = options(self.environment).chat_history_limit
        self.client.get(
            f"/api/rooms/{self.room_id}/messages?limit={limit}",
            headers=self.headers(),
            name="/api/rooms/{room_id}/messages",
        )

    @task
    def post_message(self) -> None:
        RateCap.wait(self.environment)
        self.sequence += 1
        body = {
            "body": f"load message {self.sequence} {SENT_MARK}{time.time() * 1000:.3f}",
            "client_msg_id": f"{self.username}-{self.sequence}-{random.getrandbits(32):08x}",
        }
        self.client.post(
            f"/api/rooms/{self.room_id}/messages",
            json=body,
            headers=self.headers(),
            name="/api/rooms/{room_id}/messages",
        )

    def connect(self) -> None:
        """Open the WebSocket and wait for its "ready" event, timed as request type WS."""
        RateCap.wait(self.environment)
        url = f"{realtime_base(self.environment)}/api/ws?token={self.token}"
        started = time.perf_counter()
        try:
            self.socket = websocket.create_connection(url, timeout=30, enable_multithread=False)
            ready = json.loads(self.socket.recv())
            if ready.get("type") != "ready":
                raise websocket.WebSocketException(f"first event was {ready.get('type')!r}")
        except (websocket.WebSocketException, OSError, ValueError) as error:
            self.fire(WEBSOCKET, WEBSOCKET_NAME, started, 0, error)
            self.close_socket()
            raise_stop(f"{self.username} could not open the WebSocket")
            return
        self.fire(WEBSOCKET, WEBSOCKET_NAME, started, 0, None)
        self.socket.settimeout(None)
        WorkerTally.connected += 1
        self.receiver = gevent.spawn(self.receive)

    def receive(self) -> None:
        socket = self.socket
        assert socket is not None
        while True:
            try:
                text = socket.recv()
            except (websocket.WebSocketException, OSError) as error:
                if self.socket is socket:
                    self.fire(WEBSOCKET, "/api/ws receive", time.perf_counter(), 0, error)
                    self.close_socket()
                return
            if isinstance(text, str) and '"type":"message"' in text:
                self.record_delivery(text)

    def record_delivery(self, text: str) -> None:
        now_ms = time.time() * 1000
        message = json.loads(text)["message"]
        if message["author"]["username"] == self.username:
            return
        sent_ms = parse_sent_ms(message["body"])
        if sent_ms is None:
            return
        self.environment.events.request.fire(
            request_type=DELIVERY,
            name=DELIVERY_NAME,
            response_time=max(now_ms - sent_ms, 0.0),
            response_length=len(text),
            exception=None,
            context={},
        )

    def fire(
        self, kind: str, name: str, started: float, length: int, error: BaseException | None
    ) -> None:
        self.environment.events.request.fire(
            request_type=kind,
            name=name,
            response_time=(time.perf_counter() - started) * 1000,
            response_length=length,
            exception=error,
            context={},
        )

    def close_socket(self) -> None:
        socket, self.socket = self.socket, None
        if socket is None:
            return
        if socket.connected:
            WorkerTally.connected -= 1
        try:
            socket.close(timeout=1)
        except (websocket.WebSocketException, OSError):
            log.debug("WebSocket of %s was already closed", self.username)


def raise_stop(reason: str) -> None:
    from locust.exception import StopUser

    log.warning("%s; this user stops", reason)
    raise StopUser


def realtime_base(environment: Environment) -> str:
    configured = options(environment).chat_realtime_url
    if configured:
        return str(configured).rstrip("/")
    host = (environment.host or "").rstrip("/")
    return "ws" + host.removeprefix("http") if host.startswith("http") else host


# ---------------------------------------------------------------------------------------------
# Master side: what each worker sent, sustained-breach rules, and the end of the run.


@dataclass
class WorkerLedger:
    """Totals the master received from one worker, and the totals the worker reports it sent."""

    reports: int = 0
    requests: int = 0
    failures: int = 0
    last_seq: int = 0
    gaps: int = 0
    connected: int = 0
    went_missing: bool = False
    sent: dict[str, int] | None = None
    # What the master had received when the totals arrived. Messages from one worker arrive in
    # order, so this covers exactly the reports sent before the totals.
    received: dict[str, int] | None = None


@dataclass
class Ledger:
    """The master's record of every worker and of the run's phases."""

    workers: dict[str, WorkerLedger] = field(default_factory=dict)
    discarded_reports: int = 0
    timeline: list[dict[str, float]] = field(default_factory=list)
    started_at: float = 0.0
    hold_started_at: float = 0.0
    stopped_at: float = 0.0
    aborted: str = ""
    written: bool = False

    CURRENT: Ledger | None = None

    @classmethod
    def attach(cls, environment: Environment) -> None:
        ledger = cls()
        cls.CURRENT = ledger
        runner = environment.runner
        assert isinstance(runner, MasterRunner)
        environment.events.worker_report.add_listener(ledger.on_report)
        environment.events.quitting.add_listener(ledger.on_quitting)
        runner.register_message("chat_totals", ledger.on_totals)

    def on_report(self, client_id: str, data: dict[str, Any]) -> None:
        runner = environment_of().runner
        assert isinstance(runner, MasterRunner)
        if client_id not in runner.clients and client_id not in self.workers:
            self.discarded_reports += 1
            return
        worker = self.workers.setdefault(client_id, WorkerLedger())
        total = data.get("stats_total") or {}
        worker.reports += 1
        worker.requests += int(total.get("num_requests", 0))
        worker.failures += int(total.get("num_failures", 0))
        seq = int(data.get("chat_seq", 0))
        worker.gaps += 1 if seq != worker.last_seq + 1 else 0
        worker.last_seq = seq
        worker.connected = int(data.get("chat_connected", 0))

    def on_totals(self, environment: Environment, msg: Any) -> None:
        worker = self.workers.setdefault(msg.node_id, WorkerLedger())
        worker.sent = dict(msg.data)
        worker.received = {
            "reports": worker.reports,
            "requests": worker.requests,
            "failures": worker.failures,
        }

    def on_quitting(self, environment: Environment, **_kwargs: Any) -> None:
        if not self.written:
            self.write(environment, complete=False)

    def sample(self, environment: Environment, now: float) -> None:
        runner = environment.runner
        assert isinstance(runner, MasterRunner)
        for client in runner.clients.values():
            if client.state == "missing":
                self.workers.setdefault(client.id, WorkerLedger()).went_missing = True
        connected = sum(worker.connected for worker in self.workers.values())
        spawned = runner.user_count
        self.timeline.append({"t": now, "connected": connected, "spawned": spawned})

    def write(self, environment: Environment, complete: bool) -> None:
        path = options(environment).chat_result
        if not path:
            return
        document = result_document(environment, self, complete)
        temporary = f"{path}.tmp"
        with open(temporary, "w", encoding="utf-8") as stream:
            json.dump(document, stream, indent=1)
        os.replace(temporary, path)
        self.written = True


def entry_json(entry: StatsEntry) -> dict[str, Any]:
    return {
        "method": entry.method or "",
        "name": entry.name,
        "num_requests": entry.num_requests,
        "num_none_requests": entry.num_none_requests,
        "num_failures": entry.num_failures,
        "min_response_time": entry.min_response_time,
        "max_response_time": entry.max_response_time,
        "total_response_time": entry.total_response_time,
        "response_times": {str(key): count for key, count in entry.response_times.items()},
    }


def result_document(environment: Environment, ledger: Ledger, complete: bool) -> dict[str, Any]:
    opts = options(environment)
    stats = environment.stats
    return {
        "format": 1,
        "complete": complete,
        "aborted": ledger.aborted,
        "profile": {
            "users": opts.chat_users,
            "spawn_rate": opts.chat_spawn_rate,
            "hold_s": opts.chat_hold_s,
            "max_rps": opts.chat_max_rps,
        },
        "expected_workers": int(opts.expect_workers or 1),
        "started_at": ledger.started_at,
        "hold_started_at": ledger.hold_started_at,
        "stopped_at": ledger.stopped_at or time.time(),
        "discarded_reports": ledger.discarded_reports,
        "workers": {key: vars(worker) for key, worker in ledger.workers.items()},
        "entries": [entry_json(entry) for entry in stats.entries.values()],
        "total": entry_json(stats.total),
        "errors": [
            {
                "method": error.method,
                "name": error.name,
                "error": str(error.error),
                "occurrences": error.occurrences,
            }
            for error in stats.errors.values()
        ],
        "timeline": ledger.timeline,
    }


@dataclass
class AbortRule:
    """A gate that aborts the run when it is breached for `window_s` seconds in a row."""

    gate: str
    statistic: str
    label: str
    comparison: str
    threshold: float
    window_s: float
    breached_since: float | None = None


COMPARISONS = {
    "<": float.__lt__,
    "<=": float.__le__,
    ">": float.__gt__,
    ">=": float.__ge__,
    "==": float.__eq__,
    "!=": float.__ne__,
}


def bucket_top(rounded: int) -> float:
    """Return the largest response time that Locust rounds to `rounded` (two significant digits)."""
    if rounded < 100:
        return rounded + 0.5
    if rounded < 1000:
        return rounded + 5.0
    if rounded < 10000:
        return rounded + 50.0
    return rounded + 500.0


def window_percentile(counts: dict[int, int], fraction: float) -> float:
    total = sum(counts.values())
    rank = max(int(-(-total * fraction // 1)), 1)
    seen = 0
    for rounded in sorted(counts):
        seen += counts[rounded]
        if seen >= rank:
            return bucket_top(rounded)
    return 0.0


class Window:
    """Recent histograms per label, to judge the last few seconds rather than the whole run."""

    def __init__(self) -> None:
        self.snapshots: deque[dict[str, tuple[dict[int, int], int, int]]] = deque(
            maxlen=WINDOW_TICKS
        )

    def add(self, environment: Environment) -> None:
        snapshot = {
            f"{entry.method} {entry.name}": (
                dict(entry.response_times),
                entry.num_requests,
                entry.num_failures,
            )
            for entry in environment.stats.entries.values()
        }
        self.snapshots.append(snapshot)

    def value(self, statistic: str, label: str) -> float | None:
        if len(self.snapshots) < 2:
            return None
        old, new = self.snapshots[0], self.snapshots[-1]
        counts: dict[int, int] = {}
        requests = failures = 0
        for key, (times, count, failed) in new.items():
            if not selected(key, label, statistic):
                continue
            before = old.get(key, ({}, 0, 0))
            for rounded, number in times.items():
                counts[rounded] = counts.get(rounded, 0) + number - before[0].get(rounded, 0)
            requests += count - before[1]
            failures += failed - before[2]
        if requests <= 0:
            return None
        if statistic == "error_rate":
            return failures / requests
        return window_percentile(
            counts,
            {"p50_ms": 0.5, "p95_ms": 0.95, "p99_ms": 0.99}[statistic.removeprefix("delivery_")],
        )


def selected(key: str, label: str, statistic: str) -> bool:
    if statistic.startswith("delivery_"):
        return key.startswith(f"{DELIVERY} ")
    if label:
        return key == label
    return not key.startswith((f"{DELIVERY} ", f"{WEBSOCKET} "))


class ChatShape(LoadTestShape):
    """Ramp to --chat-users, hold, then stop and settle the books; abort on a sustained breach."""

    def __init__(self) -> None:
        super().__init__()
        self.window = Window()
        self.rules: list[AbortRule] | None = None

    def tick(self) -> tuple[int, float] | None:
        environment = environment_of()
        opts = options(environment)
        ledger = Ledger.CURRENT
        assert ledger is not None
        now = time.time()
        if not ledger.started_at:
            ledger.started_at = now
        ledger.sample(environment, now)
        self.window.add(environment)
        self.start_hold(ledger, now)
        breach = self.sustained_breach(now)
        if breach:
            ledger.aborted = breach
            log.error("aborting the run: %s", breach)
        held_s = now - ledger.hold_started_at if ledger.hold_started_at else 0.0
        if breach or held_s >= opts.chat_hold_s:
            self.finish(environment, ledger)
            return None
        return opts.chat_users, opts.chat_spawn_rate

    def start_hold(self, ledger: Ledger, now: float) -> None:
        """Start the hold once every user is connected, or CONNECT_WAIT_S after the ramp."""
        if ledger.hold_started_at:
            return
        opts = options(environment_of())
        ramp_s = opts.chat_users / opts.chat_spawn_rate
        connected = ledger.timeline[-1]["connected"] if ledger.timeline else 0
        elapsed = self.get_run_time()
        if elapsed >= ramp_s and (
            connected >= opts.chat_users or elapsed >= ramp_s + CONNECT_WAIT_S
        ):
            ledger.hold_started_at = now
            log.info("hold starts with %d of %d users connected", connected, opts.chat_users)

    def sustained_breach(self, now: float) -> str:
        if self.rules is None:
            raw = json.loads(options(environment_of()).chat_abort)
            self.rules = [AbortRule(**rule) for rule in raw]
        for rule in self.rules:
            value = self.window.value(rule.statistic, rule.label)
            if value is None or COMPARISONS[rule.comparison](float(value), rule.threshold):
                rule.breached_since = None
                continue
            rule.breached_since = rule.breached_since or now
            if now - rule.breached_since >= rule.window_s:
                return (
                    f"gate {rule.gate}: {rule.statistic} {value:g} breached "
                    f"{rule.comparison} {rule.threshold:g} for {rule.window_s:g} s"
                )
        return ""

    def finish(self, environment: Environment, ledger: Ledger) -> None:
        """Stop every user, wait for each worker's totals, and write the result."""
        runner = environment.runner
        assert isinstance(runner, MasterRunner)
        ledger.stopped_at = time.time()
        runner.start(0, spawn_rate=max(options(environment).chat_users, 1))
        deadline = time.monotonic() + STOP_WAIT_S
        while runner.user_count > 0 and time.monotonic() < deadline:
            gevent.sleep(0.5)
        for client_id in list(ledger.workers) or [client.id for client in runner.clients.values()]:
            runner.send_message("chat_flush", None, client_id=client_id)
        deadline = time.monotonic() + TOTALS_WAIT_S
        while time.monotonic() < deadline and not all_totals_in(ledger, environment):
            gevent.sleep(0.5)
        ledger.write(environment, complete=True)


def all_totals_in(ledger: Ledger, environment: Environment) -> bool:
    expected = int(options(environment).expect_workers or 1)
    sent = [worker for worker in ledger.workers.values() if worker.sent is not None]
    return len(sent) >= expected and all(
        worker.sent is None or worker.reports >= worker.sent["reports"]
        for worker in ledger.workers.values()
    )
