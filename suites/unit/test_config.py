"""Settings from environment variables and command-line values."""



from pathlib import Path

import pytest
from agent_chat.config import Settings, default_db_path, load_settings
from agent_chat.errors import ConfigError
from agent_chat.faults import RouteFault
from agent_chat.tokens import TokenSigner


def test_defaults_without_environment() -> None:
    settings = load_settings({})

    assert settings.build_id == "dev"
    assert settings.seed_password is None
    assert settings.load_secret is None
    assert settings.load_users == 10_000
    assert settings.token_ttl_s == 3600
    assert len(settings.token_secret) == 32
    assert settings.faults.enabled is False
    assert settings.db_path.name == "agent_chat.db"
    assert settings.db_path.parent.is_dir()


def test_default_db_path_is_fresh() -> None:
    assert default_db_path().parent != default_db_path().parent


def test_values_from_environment(tmp_path: Path) -> None:
    env = {
        "AGENT_CHAT_BUILD_ID": "build-7",
        "AGENT_CHAT_SEED_PASSWORD": "pw",
        "AGENT_CHAT_LOAD_SECRET": "load",
        "AGENT_CHAT_LOAD_USERS": "25",
        "AGENT_CHAT_TOKEN_SECRET": "key",
        "AGENT_CHAT_TOKEN_TTL_S": "90",
    }

    settings = load_settings(env, db_path=tmp_path / "x.db")

    assert settings.db_path == tmp_path / "x.db"
    assert settings.build_id == "build-7"
    assert settings.seed_password == "pw"
    assert settings.load_secret == "load"
    assert settings.load_users == 25
    assert settings.token_secret == b"key"
    assert settings.token_ttl_s == 90


def test_token_secret_shared_between_instances() -> None:
    first = load_settings({"AGENT_CHAT_TOKEN_SECRET": "key"})
    second = load_settings({"AGENT_CHAT_TOKEN_SECRET": "key"})

    token = TokenSigner(first.token_secret, 60).issue(5)

    assert TokenSigner(second.token_secret, 60).verify(token) == 5


def test_random_token_secret_per_process() -> None:
    assert load_settings({}).token_secret != load_settings({}).token_secret


def test_repr_hides_secrets(tmp_path: Path) -> None:
    settings = Settings(
        db_path=tmp_path / "x.db", seed_password="pw-visible?", load_secret="load-visible?"
    )

    assert "pw-visible?" not in repr(settings)
    assert "load-visible?" not in repr(settings)
    assert "token_secret" not in repr(settings)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("AGENT_CHAT_TOKEN_TTL_S", "abc"),
        ("AGENT_CHAT_TOKEN_TTL_S", "0"),
        ("AGENT_CHAT_LOAD_USERS", "-1"),
        ("AGENT_CHAT_LOAD_USERS", "100001"),
    ],
)
def test_invalid_integer_names_variable(name: str, value: str) -> None:
    with pytest.raises(ConfigError, match=name) as error:
        load_settings({name: value})

    assert value in str(error.value)


def test_empty_values_mean_default() -> None:
    settings = load_settings({"AGENT_CHAT_TOKEN_TTL_S": "", "AGENT_CHAT_BUILD_ID": ""})

    assert settings.token_ttl_s == 3600
    assert settings.build_id == "dev"


def test_faults_from_inline_json() -> None:
    settings = load_settings({"AGENT_CHAT_FAULTS": '{"routes": {"*": {"latency_ms": 5}}}'})

    assert settings.faults.routes == {"*": RouteFault(latency_ms=5.0)}


def test_faults_from_env_file(tmp_path: Path) -> None:
    path = tmp_path / "faults.json"
    path.write_text('{"seed": 3, "routes": {"GET /api/me": {"error_rate": 1}}}')

    settings = load_settings({"AGENT_CHAT_FAULTS_FILE": str(path)})

    assert settings.faults.seed == 3
    assert settings.faults.routes == {"GET /api/me": RouteFault(error_rate=1.0)}


def test_faults_file_option_overrides_env(tmp_path: Path) -> None:
    option_file = tmp_path / "option.toml"
    option_file.write_text('[routes."*"]\nlatency_ms = 7\n')
    env = {"AGENT_CHAT_FAULTS_FILE": str(tmp_path / "missing.json")}

    settings = load_settings(env, faults_file=option_file)

    assert settings.faults.routes == {"*": RouteFault(latency_ms=7.0)}


def test_inline_and_file_faults_conflict(tmp_path: Path) -> None:
    env = {"AGENT_CHAT_FAULTS": "{}", "AGENT_CHAT_FAULTS_FILE": str(tmp_path / "f.json")}

    with pytest.raises(ConfigError, match="set only one"):
        load_settings(env)


@pytest.mark.parametrize(
    ("field", "value"), [("load_users", -1), ("load_users", 100_001), ("token_ttl_s", 0)]
)
def test_settings_reject_out_of_range(tmp_path: Path, field: str, value: int) -> None:
    with pytest.raises(ConfigError, match=field):
        Settings(db_path=tmp_path / "x.db", **{field: value})  # type: ignore[arg-type]
