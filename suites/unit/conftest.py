"""Fixtures for the unit tests of the agent_chat package in sut/.

Every test gets its own database under tmp_path, so the tests can run in parallel with pytest-xdist.
"""

import os
import sys
import tempfile
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

SUT_DIR = Path(__file__).resolve().parents[2] / "sut"
if str(SUT_DIR) not in sys.path:
    sys.path.insert(0, str(SUT_DIR))

# Starlette 1.x warns on import that its TestClient will move from httpx to httpx2,
# which is not installed.
warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")

from agent_chat.app import create_app  # noqa: E402
from agent_chat.config import Settings  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402
from unit_helpers import SEED_PASSWORD, TOKEN_SECRET, ClientFactory  # noqa: E402


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Remove AGENT_CHAT_* variables of the calling shell, which would change the configuration.

    Temporary files, such as the default database directory, go under the test's tmp_path.
    """
    for name in list(os.environ):
        if name.startswith("AGENT_CHAT_"):
            monkeypatch.delenv(name)
    temp_dir = tmp_path / "tmp"
    temp_dir.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp_dir))
    monkeypatch.setenv("TMPDIR", str(temp_dir))


@pytest.fixture
def make_settings(tmp_path: Path) -> Callable[..., Settings]:
    def build(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "db_path": tmp_path / "chat.db",
            "seed_password": SEED_PASSWORD,
            "token_secret": TOKEN_SECRET,
        }
        values.update(overrides)
        return Settings(**values)

    return build


@pytest.fixture
def make_client(make_settings: Callable[..., Settings]) -> Iterator[ClientFactory]:
    """Return a factory of started TestClients, which run the lifespan and close after the test."""
    clients: list[TestClient] = []

    def build(**overrides: Any) -> TestClient:
        client = TestClient(create_app(make_settings(**overrides)))
        client.__enter__()
        clients.append(client)
        return client

    yield build
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def client(make_client: ClientFactory) -> TestClient:
    return make_client()
