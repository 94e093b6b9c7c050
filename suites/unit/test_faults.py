"""Fault injection: config parsing, error messages, and the effect on requests."""

import asyncio
import logging
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from agent_chat.app import create_app
from agent_chat.config import Settings
from agent_chat.errors import ConfigError
from agent_chat.faults import (
    FaultConfig,
    FaultInjector,
    RouteFault,
    load_faults_file,
    parse_faults,
    parse_faults_json,
    validate_route_keys,
)
from fastapi.testclient import TestClient
from unit_helpers import ClientFactory, auth, login

MESSAGES_ROUTE = "POST /api/rooms/{room_id}/messages"


def test_parse_full_config() -> None:
    config = parse_faults(
        {
            "seed": 9,
            "routes": {
                MESSAGES_ROUTE: {"latency_ms": 200, "error_rate": 0.5},
                "*": {"latency_ms": 1.5},
            },
        },
        "test",
    )

    assert config.seed == 9
    assert config.enabled is True
    assert config.routes[MESSAGES_ROUTE] == RouteFault(latency_ms=200.0, error_rate=0.5)
    assert config.routes["*"] == RouteFault(latency_ms=1.5, error_rate=0.0)


def test_empty_config_is_disabled() -> None:
    assert parse_faults({}, "test") == FaultConfig()
    assert FaultConfig().enabled is False


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ([], "must be an object"),
        ({"sed": 1}, "unknown key 'sed'"),
        ({"seed": "1"}, "'seed' must be an integer"),
        ({"seed": True}, "'seed' must be an integer"),
        ({"routes": []}, "'routes' must be an object"),
        ({"routes": {"GET /healthz": {}}}, "invalid route key 'GET /healthz'"),
        ({"routes": {"FETCH /api/me": {}}}, "invalid route key 'FETCH /api/me'"),
        ({"routes": {"/api/me": {}}}, "invalid route key '/api/me'"),
        ({"routes": {"*": 5}}, "routes['*'] must be an object"),
        ({"routes": {"*": {"latency": 5}}}, "routes['*'] has unknown key 'latency'"),
        (
            {"routes": {"*": {"latency_ms": -1}}},
            "routes['*'].latency_ms must be a number from 0 to 60000",
        ),
        ({"routes": {"*": {"latency_ms": 10**400}}}, "routes['*'].latency_ms"),
        (
            {"routes": {"*": {"error_rate": 1.5}}},
            "routes['*'].error_rate must be a number from 0 to 1",
        ),
        ({"routes": {"*": {"error_rate": "0.5"}}}, "routes['*'].error_rate"),
        ({"routes": {"*": {"error_rate": float("nan")}}}, "routes['*'].error_rate"),
        ({"routes": {"*": {"error_rate": True}}}, "routes['*'].error_rate"),
    ],
)
def test_invalid_config_names_key(data: object, expected: str) -> None:
    with pytest.raises(ConfigError) as error:
        parse_faults(data, "faults.json")

    message = str(error.value)
    assert message.startswith("faults.json: ")
    assert expected in message
    assert "\n" not in message


def test_invalid_json_reports_position() -> None:
    with pytest.raises(ConfigError, match=r"AGENT_CHAT_FAULTS: invalid JSON at line 1 column 2"):
        parse_faults_json("{oops}", "AGENT_CHAT_FAULTS")


def test_load_toml_file(tmp_path: Path) -> None:
    path = tmp_path / "faults.TOML"
    path.write_text(f'seed = 4\n[routes."{MESSAGES_ROUTE}"]\nerror_rate = 0.25\n')

    config = load_faults_file(path)

    assert config.seed == 4
    assert config.routes == {MESSAGES_ROUTE: RouteFault(error_rate=0.25)}


def test_load_invalid_toml_file(tmp_path: Path) -> None:
    path = tmp_path / "faults.toml"
    path.write_text("seed = \n")

    with pytest.raises(ConfigError, match="invalid TOML"):
        load_faults_file(path)


def test_load_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"cannot be read.*check the path"):
        load_faults_file(tmp_path / "missing.json")


def test_validate_route_keys_unknown_route() -> None:
    config = FaultConfig(routes={"*": RouteFault(), "GET /api/nope": RouteFault()})

    with pytest.raises(
        ConfigError, match="'GET /api/nope' matches no /api route; known routes: GET /api/me"
    ):
        validate_route_keys(config, ["GET /api/me"])


def test_create_app_rejects_unknown_route(tmp_path: Path) -> None:
    faults = FaultConfig(routes={"GET /api/rooms/{id}": RouteFault(error_rate=1)})

    with pytest.raises(ConfigError, match="GET /api/rooms/\\{id\\}"):
        create_app(Settings(db_path=tmp_path / "x.db", faults=faults))


def test_injector_picks_route_over_wildcard() -> None:
    specific = RouteFault(error_rate=1)
    injector = FaultInjector(
        FaultConfig(routes={"*": RouteFault(latency_ms=1), "GET /api/me": specific})
    )

    assert injector.fault_for("GET /api/me") == specific
    assert injector.fault_for("GET /api/rooms") == RouteFault(latency_ms=1)
    assert FaultInjector(FaultConfig()).fault_for("GET /api/me") is None


def test_injector_same_seed_same_errors() -> None:
    config = FaultConfig(seed=11, routes={"*": RouteFault(error_rate=0.5)})

    def run() -> list[bool]:
        injector = FaultInjector(config)
        return [asyncio.run(injector.inject("GET /api/me")) for _ in range(40)]

    first = run()
    assert first == run()
    assert True in first
    assert False in first


def test_injector_counts_and_logs(caplog: pytest.LogCaptureFixture) -> None:
    injector = FaultInjector(FaultConfig(routes={"*": RouteFault(latency_ms=1, error_rate=1)}))

    for _ in range(3):
        assert asyncio.run(injector.inject("GET /api/me")) is True
    with caplog.at_level(logging.INFO):
        injector.log_counts()

    assert injector.errors["GET /api/me"] == 3
    assert injector.delays["GET /api/me"] == 3
    assert "fault injection: GET /api/me: 3 errors, 3 delays" in caplog.text


def test_injector_logs_when_nothing_injected(caplog: pytest.LogCaptureFixture) -> None:
    injector = FaultInjector(FaultConfig(routes={"GET /api/me": RouteFault()}))

    with caplog.at_level(logging.INFO):
        injector.log_counts()
        FaultInjector(FaultConfig()).log_counts()

    assert caplog.text.count("fault injection") == 1
    assert "no faults were injected" in caplog.text


def test_api_route_error_returns_503(make_client: ClientFactory) -> None:
    client = make_client(faults=FaultConfig(routes={"GET /api/me": RouteFault(error_rate=1)}))
    headers = auth(login(client, "alice"))

    response = client.get("/api/me", headers=headers)

    assert response.status_code == 503
    assert response.json() == {"detail": "injected fault"}
    assert client.get("/api/rooms", headers=headers).status_code == 200


def test_fault_precedes_auth_and_validation(make_client: ClientFactory) -> None:
    client = make_client(faults=FaultConfig(routes={MESSAGES_ROUTE: RouteFault(error_rate=1)}))

    response = client.post("/api/rooms/1/messages", json={})

    assert response.status_code == 503


def test_health_and_version_never_faulted(make_client: ClientFactory) -> None:
    client = make_client(faults=FaultConfig(routes={"*": RouteFault(error_rate=1)}))

    assert client.get("/healthz").status_code == 200
    assert client.get("/version").status_code == 200
    assert client.get("/").status_code == 200
    assert client.post("/api/login", json={"username": "alice", "password": "x"}).status_code == 503


def test_api_latency_is_added(make_client: ClientFactory) -> None:
    client = make_client(faults=FaultConfig(routes={"GET /api/rooms": RouteFault(latency_ms=150)}))
    headers = auth(login(client, "alice"))

    started = time.perf_counter()
    response = client.get("/api/rooms", headers=headers)
    elapsed = time.perf_counter() - started

    assert response.status_code == 200
    assert elapsed >= 0.15


def test_counts_logged_at_shutdown(
    make_settings: Callable[..., Settings], caplog: pytest.LogCaptureFixture
) -> None:
    settings = make_settings(
        faults=FaultConfig(routes={"GET /api/rooms": RouteFault(error_rate=1)})
    )
    with caplog.at_level(logging.INFO), TestClient(create_app(settings)) as client:
        client.get("/api/rooms")
        client.get("/api/rooms")

    assert "fault injection: GET /api/rooms: 2 errors, 0 delays" in caplog.text
