"""Failed logins are limited per username and client, against password guessing."""

import pytest
from agent_chat.config import Settings, load_settings
from agent_chat.errors import ConfigError
from agent_chat.ratelimit import LoginRateLimiter
from fastapi.testclient import TestClient
from unit_helpers import SEED_PASSWORD, ClientFactory


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def fail_logins(client: TestClient, username: str, count: int) -> list[int]:
    body = {"username": username, "password": "wrong"}
    return [client.post("/api/login", json=body).status_code for _ in range(count)]


def test_login_locked_after_max_failures(make_client: ClientFactory) -> None:
    client = make_client(login_max_failures=3)

    statuses = fail_logins(client, "alice", 4)
    locked = client.post("/api/login", json={"username": "alice", "password": SEED_PASSWORD})

    assert statuses == [401, 401, 401, 429]
    assert locked.status_code == 429
    assert 1 <= int(locked.headers["retry-after"]) <= 60
    assert locked.json()["detail"].startswith("too many failed logins")


def test_lockout_is_per_username(make_client: ClientFactory) -> None:
    client = make_client(login_max_failures=3)
    fail_logins(client, "nobody", 3)

    response = client.post("/api/login", json={"username": "bob", "password": SEED_PASSWORD})

    assert response.status_code == 200


def test_lockout_is_per_client(make_client: ClientFactory) -> None:
    client = make_client(login_max_failures=2)
    other = TestClient(client.app, client=("192.0.2.7", 50000))
    fail_logins(client, "alice", 2)

    response = other.post("/api/login", json={"username": "alice", "password": SEED_PASSWORD})

    assert response.status_code == 200


def test_success_resets_failures(make_client: ClientFactory) -> None:
    client = make_client(login_max_failures=3)
    fail_logins(client, "alice", 2)
    client.post("/api/login", json={"username": "alice", "password": SEED_PASSWORD})

    assert fail_logins(client, "alice", 3) == [401, 401, 401]


def test_too_many_logins_is_documented(client: TestClient) -> None:
    responses = client.get("/openapi.json").json()["paths"]["/api/login"]["post"]["responses"]

    assert "Retry-After" in responses["429"]["headers"]


def test_limiter_window_expires() -> None:
    clock = FakeClock()
    limiter = LoginRateLimiter(max_failures=2, window_s=60, clock=clock)
    key = ("alice", "127.0.0.1")
    limiter.record_failure(key)
    clock.now += 30
    limiter.record_failure(key)

    assert limiter.retry_after_s(key) == 30
    clock.now += 30
    assert limiter.retry_after_s(key) == 0


def test_limiter_memory_is_bounded() -> None:
    limiter = LoginRateLimiter(max_failures=1, window_s=60, clock=FakeClock(), max_keys=3)
    for index in range(5):
        limiter.record_failure((f"user{index}", "127.0.0.1"))

    assert limiter.retry_after_s(("user0", "127.0.0.1")) == 0
    assert limiter.retry_after_s(("user4", "127.0.0.1")) == 60


def test_limits_read_from_environment(tmp_path: object) -> None:
    env = {"AGENT_CHAT_LOGIN_MAX_FAILURES": "5", "AGENT_CHAT_LOGIN_WINDOW_S": "120"}

    settings = load_settings(env, db_path=tmp_path)  # type: ignore[arg-type]

    assert (settings.login_max_failures, settings.login_window_s) == (5, 120)


def test_limits_must_be_positive(tmp_path: object) -> None:
    with pytest.raises(ConfigError, match="login_max_failures and login_window_s"):
        Settings(db_path=tmp_path, login_max_failures=0)  # type: ignore[arg-type]
