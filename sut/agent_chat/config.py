"""Service settings and their loading from AGENT_CHAT_* environment variables."""

import secrets
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from agent_chat.errors import ConfigError
from agent_chat.faults import FaultConfig, load_faults_file, parse_faults_json

MAX_LOAD_USERS = 100_000  # Load-test usernames have five digits, load00000 .. load99999.


@dataclass(frozen=True)
class Settings:
    """Settings of one service instance. Only ``db_path`` is required.

    Secrets are excluded from repr, so logging a Settings object does not leak them.
    """

    db_path: Path
    build_id: str = "dev"
    seed_password: str | None = field(default=None, repr=False)
    load_secret: str | None = field(default=None, repr=False)
    load_users: int = 10_000
    token_secret: bytes = field(default_factory=lambda: secrets.token_bytes(32), repr=False)
    token_ttl_s: int = 3600
    login_max_failures: int = 10
    login_window_s: int = 60
    faults: FaultConfig = field(default_factory=FaultConfig)

    def __post_init__(self) -> None:
        if not 0 <= self.load_users <= MAX_LOAD_USERS:
            raise ConfigError(
                f"load_users must be from 0 to {MAX_LOAD_USERS}, got {self.load_users}"
            )
        if self.login_max_failures < 1 or self.login_window_s < 1:
            raise ConfigError(
                "login_max_failures and login_window_s must be at least 1, got "
                f"{self.login_max_failures} and {self.login_window_s}"
            )
        if self.token_ttl_s < 1:
            raise ConfigError(f"token_ttl_s must be at least 1 second, got {self.token_ttl_s}")


def default_db_path() -> Path:
    """Return a database path in a new temporary directory, which is kept for inspection."""
    return Path(tempfile.mkdtemp(prefix="agent_chat-")) / "agent_chat.db"


def load_settings(
    env: Mapping[str, str], db_path: Path | None = None, faults_file: Path | None = None
) -> Settings:
    """Build Settings from environment variables and command-line values.

    ``faults_file`` (from --faults-file) takes precedence over AGENT_CHAT_FAULTS_FILE.
    Raises ConfigError naming the invalid variable.
    """
    token_secret = env.get("AGENT_CHAT_TOKEN_SECRET")
    faults = _load_faults(env, faults_file)
    ttl_s = _read_int(env, "AGENT_CHAT_TOKEN_TTL_S", 3600, 1, 10 * 365 * 24 * 3600)
    load_users = _read_int(env, "AGENT_CHAT_LOAD_USERS", 10_000, 0, MAX_LOAD_USERS)
    max_failures = _read_int(env, "AGENT_CHAT_LOGIN_MAX_FAILURES", 10, 1, 1_000_000)
    window_s = _read_int(env, "AGENT_CHAT_LOGIN_WINDOW_S", 60, 1, 24 * 3600)
    # The default database directory is created last, so invalid settings leave nothing behind.
    return Settings(
        db_path=db_path if db_path is not None else default_db_path(),
        build_id=env.get("AGENT_CHAT_BUILD_ID") or "dev",
        seed_password=env.get("AGENT_CHAT_SEED_PASSWORD") or None,
        load_secret=env.get("AGENT_CHAT_LOAD_SECRET") or None,
        load_users=load_users,
        token_secret=token_secret.encode() if token_secret else secrets.token_bytes(32),
        token_ttl_s=ttl_s,
        login_max_failures=max_failures,
        login_window_s=window_s,
        faults=faults,
    )


def _read_int(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be an integer from {low} to {high}, got {raw!r}") from None
    if not low <= value <= high:
        raise ConfigError(f"{name} must be an integer from {low} to {high}, got {value}")
    return value


def _load_faults(env: Mapping[str, str], faults_file: Path | None) -> FaultConfig:
    inline = env.get("AGENT_CHAT_FAULTS") or None
    file_name = env.get("AGENT_CHAT_FAULTS_FILE") or None
    path = faults_file
    if path is None and file_name:
        path = Path(file_name)
    if inline and path is not None:
        raise ConfigError(
            "AGENT_CHAT_FAULTS and a faults file (AGENT_CHAT_FAULTS_FILE or --faults-file) "
            "are both set; set only one"
        )
    if inline:
        return parse_faults_json(inline, "AGENT_CHAT_FAULTS")
    if path is not None:
        return load_faults_file(path)
    return FaultConfig()
