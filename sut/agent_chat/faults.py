"""Fault injection: added latency and injected HTTP 503 errors on selected /api routes.

The configuration is JSON or TOML of this shape::

    {"seed": 1,
     "routes": {"POST /api/rooms/{room_id}/messages": {"latency_ms": 200, "error_rate": 0.5}},
     "client": ["broken-send"]}

A route key is "METHOD path-template" as FastAPI routes it, or "*" for every /api HTTP route.
A route's own entry replaces the "*" entry for that route. "client" lists faults that the web
client applies to itself (CLIENT_FAULTS), so a browser test can be shown to catch a broken client.
"""

import asyncio
import json
import logging
import random
import re
import tomllib
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from agent_chat.errors import ConfigError

logger = logging.getLogger(__name__)

WILDCARD = "*"
MAX_LATENCY_MS = 60_000
_ROUTE_KEY = re.compile(r"^(GET|POST|PUT|PATCH|DELETE) (/api/\S*)$")
_TOP_LEVEL_KEYS = {"seed", "routes", "client"}
# "broken-send": the send button swallows the submit and sends nothing.
CLIENT_FAULTS = frozenset({"broken-send"})
_ROUTE_FIELDS = {"latency_ms", "error_rate"}


@dataclass(frozen=True)
class RouteFault:
    """Faults of one route: latency added before handling, and the fraction of requests failed."""

    latency_ms: float = 0.0
    error_rate: float = 0.0


@dataclass(frozen=True)
class FaultConfig:
    """Parsed fault-injection configuration. The default has no routes, so nothing is injected."""

    seed: int = 0
    routes: Mapping[str, RouteFault] = field(default_factory=dict)
    client: tuple[str, ...] = ()

    @property
    def enabled(self) -> bool:
        return bool(self.routes)


def parse_faults(data: object, source: str) -> FaultConfig:
    """Validate decoded fault configuration and return it.

    Raises ConfigError with one line that names ``source`` and the offending key.
    """
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: fault config must be an object with 'seed' and 'routes'")
    unknown = sorted(set(data) - _TOP_LEVEL_KEYS)
    if unknown:
        raise ConfigError(
            f"{source}: unknown key {unknown[0]!r}; allowed keys are 'seed', 'routes' and 'client'"
        )
    seed = _parse_seed(data.get("seed", 0), source)
    routes = data.get("routes", {})
    if not isinstance(routes, dict):
        raise ConfigError(f"{source}: 'routes' must be an object mapping route keys to faults")
    parsed = {key: _parse_route(key, value, source) for key, value in routes.items()}
    client = _parse_client(data.get("client", []), source)
    return FaultConfig(seed=seed, routes=parsed, client=client)


def _parse_client(value: object, source: str) -> tuple[str, ...]:
    choices = ", ".join(sorted(CLIENT_FAULTS))
    if not isinstance(value, list):
        raise ConfigError(f"{source}: 'client' must be a list of client faults ({choices})")
    for name in value:
        if name not in CLIENT_FAULTS:
            raise ConfigError(f"{source}: unknown client fault {name!r}; choose from: {choices}")
    return tuple(value)


def _parse_seed(seed: object, source: str) -> int:
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ConfigError(f"{source}: 'seed' must be an integer, got {seed!r}")
    return seed


def _parse_route(key: object, value: object, source: str) -> RouteFault:
    if not isinstance(key, str) or (key != WILDCARD and not _ROUTE_KEY.match(key)):
        raise ConfigError(
            f"{source}: invalid route key {key!r}; use '*' or 'METHOD /api/path-template', "
            "for example 'POST /api/rooms/{room_id}/messages'"
        )
    if not isinstance(value, dict):
        raise ConfigError(
            f"{source}: routes[{key!r}] must be an object with latency_ms and error_rate"
        )
    unknown = sorted(set(value) - _ROUTE_FIELDS)
    if unknown:
        raise ConfigError(
            f"{source}: routes[{key!r}] has unknown key {unknown[0]!r}; "
            "allowed keys are latency_ms and error_rate"
        )
    latency_ms = _parse_number(
        value.get("latency_ms", 0), f"routes[{key!r}].latency_ms", 0, MAX_LATENCY_MS, source
    )
    error_rate = _parse_number(
        value.get("error_rate", 0), f"routes[{key!r}].error_rate", 0, 1, source
    )
    return RouteFault(latency_ms=latency_ms, error_rate=error_rate)


def _parse_number(value: object, name: str, low: float, high: float, source: str) -> float:
    # NaN and infinity fail the range comparison, so they are rejected too.
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
        raise ConfigError(f"{source}: {name} must be a number from {low} to {high}, got {value!r}")
    return float(value)


def parse_faults_json(text: str, source: str) -> FaultConfig:
    """Parse fault configuration from a JSON string."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"{source}: invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
        ) from None
    return parse_faults(data, source)


def load_faults_file(path: Path) -> FaultConfig:
    """Read fault configuration from a .toml file, or from JSON for any other suffix."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(
            f"faults file {str(path)!r} cannot be read: {exc.strerror}; check the path"
        ) from None
    if path.suffix.lower() != ".toml":
        return parse_faults_json(text, str(path))
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    return parse_faults(data, str(path))


def validate_route_keys(config: FaultConfig, known_routes: Iterable[str]) -> None:
    """Raise ConfigError when a configured route key matches no /api route of the app.

    Without this check a typo in a route key would silently disable that fault.
    """
    known = set(known_routes)
    for key in config.routes:
        if key != WILDCARD and key not in known:
            raise ConfigError(
                f"faults: route key {key!r} matches no /api route; "
                f"known routes: {', '.join(sorted(known))}"
            )


class FaultInjector:
    """Apply configured faults to requests and count what was injected per route.

    The random generator is seeded, so a fixed sequence of requests gets the same faults each run.
    Concurrent requests draw from it in arrival order, which is not deterministic.
    """

    def __init__(self, config: FaultConfig) -> None:
        self._config = config
        self._random = random.Random(config.seed)  # noqa: S311 - reproducible, not secret
        self.errors: Counter[str] = Counter()
        self.delays: Counter[str] = Counter()

    @property
    def enabled(self) -> bool:
        return self._config.enabled

    @property
    def client_faults(self) -> tuple[str, ...]:
        return self._config.client

    def fault_for(self, route_key: str) -> RouteFault | None:
        """Return the faults for a route key such as "GET /api/me", or None when it has none."""
        routes = self._config.routes
        return routes.get(route_key, routes.get(WILDCARD))

    async def inject(self, route_key: str) -> bool:
        """Sleep for the route's latency, then return True when this request must fail with 503."""
        fault = self.fault_for(route_key)
        if fault is None:
            return False
        if fault.latency_ms > 0:
            self.delays[route_key] += 1
            await asyncio.sleep(fault.latency_ms / 1000)
        if fault.error_rate > 0 and self._random.random() < fault.error_rate:
            self.errors[route_key] += 1
            return True
        return False

    def log_counts(self) -> None:
        """Log how many errors and delays were injected on each route."""
        if not self.enabled:
            return
        routes = sorted(set(self.errors) | set(self.delays))
        if not routes:
            logger.info("fault injection: no faults were injected")
        for route in routes:
            logger.info(
                "fault injection: %s: %d errors, %d delays",
                route,
                self.errors[route],
                self.delays[route],
            )
