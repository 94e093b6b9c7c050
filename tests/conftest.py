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

from harness.metrics import metric_key

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

    def metrics(self, suite: str, run: Path | None = None) -> dict[str, dict[str, object]]:
        path = (run or self.latest()) / "metrics" / f"{suite}.json"
        entries = json.loads(path.read_text())["metrics"]
        return {metric_key(entry["name"], entry.get("labels", {})): entry for entry in entries}

    def write(self, relative: str, text: str) -> Path:
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return path


@pytest.fixture
def project(tmp_path: Path) -> Project:
    return copy_project(tmp_path / "project")


def copy_project(root: Path) -> Project:
    """Copy the configuration, scenarios, suites and service into `root`, which must not exist."""
    root.mkdir()
    for name in ["environments", "scenarios", "sut/faults", "sut/agent_chat", "suites"]:
        shutil.copytree(PROJECT / name, root / name, ignore=shutil.ignore_patterns("__pycache__"))
    # Suites started in the copy import `harness` from their working folder first. A link keeps
    # that the real package, so coverage maps what they run to harness/ and measures it.
    (root / "harness").symlink_to(PROJECT / "harness")
    for name in ["gates.toml", "e2e.toml", "security.toml", "security-baseline.toml"]:
        shutil.copy(PROJECT / name, root / name)
    return Project(root)


ACCEPTANCE_STAGES = """
[stages.acceptance]
description = "Acceptance scenarios only"

[[stages.acceptance.gates]]
name = "uat-scenarios-executed"
metric = "uat.scenarios.executed"
comparison = ">"
threshold = 0

[[stages.acceptance.gates]]
name = "uat-scenarios-passed"
metric = "uat.scenarios.failed"
comparison = "=="
threshold = 0

[stages.signoff]
description = "Acceptance scenarios and every manual check signed"

[[stages.signoff.gates]]
name = "uat-scenarios-passed"
metric = "uat.scenarios.failed"
comparison = "=="
threshold = 0

[[stages.signoff.gates]]
name = "uat-manual-signed"
metric = "uat.manual.failed"
comparison = "=="
threshold = 0
"""


def add_acceptance_stages(project: Project) -> None:
    """Add stages that need only uat evidence, for promotion tests that run no other suite."""
    gates = project.root / "gates.toml"
    gates.write_text(gates.read_text() + ACCEPTANCE_STAGES)


def gate_outcomes(verdict: dict[str, object]) -> dict[str, str]:
    gates = verdict["gates"]
    assert isinstance(gates, list)
    return {gate["name"]: gate["outcome"] for gate in gates}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class AgentChatServices:
    """Start real Agent Chat services on loopback, standing in for remote deployments."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.processes: dict[int, subprocess.Popen[bytes]] = {}

    def start(self, build: str, port: int | None = None) -> str:
        port = port or free_port()
        command = [sys.executable, "-m", "agent_chat", "--host", "127.0.0.1", "--port", str(port)]
        command += ["--db", str(self.workdir / f"service-{port}.db")]
        env = dict(os.environ, AGENT_CHAT_SEED_PASSWORD="seed-secret", AGENT_CHAT_BUILD_ID=build)
        self.processes[port] = subprocess.Popen(
            command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        base_url = f"http://127.0.0.1:{port}"
        wait_until_healthy(base_url)
        return base_url

    def stop(self, base_url: str) -> None:
        process = self.processes.pop(int(base_url.rsplit(":", 1)[1]))
        process.terminate()
        process.wait(10)

    def stop_all(self) -> None:
        for port in list(self.processes):
            self.stop(f"http://127.0.0.1:{port}")


@pytest.fixture
def services(tmp_path: Path) -> Iterator[AgentChatServices]:
    started = AgentChatServices(tmp_path)
    try:
        yield started
    finally:
        started.stop_all()


@pytest.fixture
def agent_chat(services: AgentChatServices) -> str:
    """One real Agent Chat service reporting build remote-1."""
    return services.start("remote-1")


def wait_until_healthy(base_url: str, timeout_s: float = 30.0, path: str = "/healthz") -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base_url}{path}", timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError(f"{base_url} did not become healthy within {timeout_s} s")
