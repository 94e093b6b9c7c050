"""Shared fixtures: a copy of the project to run the real `harness` command in, and its helpers."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

PROJECT = Path(__file__).resolve().parent.parent
RUN_TIMEOUT_S = 300


@dataclass
class Project:
    """A throwaway copy of the project's configuration and scenarios, with its own reports/."""

    root: Path

    @property
    def reports(self) -> Path:
        return self.root / "reports"

    def harness(
        self, *args: str, env: dict[str, str] | None = None, timeout_s: float = RUN_TIMEOUT_S
    ) -> subprocess.CompletedProcess[str]:
        """Run the real CLI as a child process, the way users and CI do."""
        child_env = dict(os.environ, **(env or {}))
        command = [sys.executable, "-m", "harness", "--root", str(self.root), *args]
        return subprocess.run(
            command, capture_output=True, text=True, env=child_env, timeout=timeout_s, check=False
        )

    def runs(self) -> list[Path]:
        runs = self.reports / "runs"
        return sorted(runs.iterdir()) if runs.is_dir() else []

    def latest(self) -> Path:
        return (self.reports / "latest").resolve()

    def verdict(self, run: Path | None = None) -> dict[str, object]:
        path = (run or self.latest()) / "verdict.json"
        data: dict[str, object] = json.loads(path.read_text())
        return data

    def manifest(self, run: Path | None = None) -> dict[str, object]:
        data: dict[str, object] = json.loads(((run or self.latest()) / "run.json").read_text())
        return data

    def write(self, relative: str, text: str) -> Path:
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return path


@pytest.fixture
def project(tmp_path: Path) -> Project:
    root = tmp_path / "project"
    root.mkdir()
    for name in ["environments", "scenarios", "sut/faults", "suites/load"]:
        shutil.copytree(PROJECT / name, root / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(PROJECT / "gates.toml", root / "gates.toml")
    return Project(root)


def gate_outcomes(verdict: dict[str, object]) -> dict[str, str]:
    gates = verdict["gates"]
    assert isinstance(gates, list)
    return {gate["name"]: gate["outcome"] for gate in gates}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def agent_chat(tmp_path: Path) -> Iterator[str]:
    """A real Agent Chat service on loopback, standing in for a remote deployment."""
    port = free_port()
    command = [sys.executable, "-m", "agent_chat", "--host", "127.0.0.1", "--port", str(port)]
    command += ["--db", str(tmp_path / "remote.db")]
    env = dict(os.environ, AGENT_CHAT_SEED_PASSWORD="seed-secret", AGENT_CHAT_BUILD_ID="remote-1")
    service = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(base_url)
        yield base_url
    finally:
        service.terminate()
        service.wait(10)


def wait_until_healthy(base_url: str, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base_url}/healthz", timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError(f"{base_url} did not become healthy within {timeout_s} s")
