"""Production verification against real services on loopback: rollout check and uptime probe."""

from __future__ import annotations

import json
import threading

import pytest

from tests.conftest import AgentChatServices, Project, gate_outcomes

pytestmark = pytest.mark.slow

LIVE = """
description = "Two live instances behind one URL"
sensitive = true
stage = "release"

[target]
base_url_env = "LIVE_BASE_URL"
instances_env = "LIVE_INSTANCES"
request_timeout_s = 5
"""


def live_env(project: Project, urls: list[str]) -> dict[str, str]:
    project.write("environments/live.toml", LIVE)
    return {"LIVE_BASE_URL": urls[0], "LIVE_INSTANCES": ",".join(urls)}


def test_rollout_complete(project: Project, services: AgentChatServices) -> None:
    urls = [services.start("b-2"), services.start("b-2")]
    result = project.harness(
        "verify-deploy", "--env", "live", "--expect-build", "b-2", env=live_env(project, urls)
    )
    assert result.returncode == 0, result.stdout + result.stderr
    rollout = json.loads((project.latest() / "deploy" / "rollout.json").read_text())
    assert rollout["builds"] == {url: "b-2" for url in urls}
    assert rollout["lagging"] == []
    assert gate_outcomes(project.verdict()) == {"rollout-time": "PASS"}


def test_rollout_in_progress(project: Project, services: AgentChatServices) -> None:
    new, old = services.start("b-3"), services.start("b-2")

    def upgrade() -> None:
        services.stop(old)
        services.start("b-3", port=int(old.rsplit(":", 1)[1]))

    upgrader = threading.Timer(1.0, upgrade)
    upgrader.start()
    result = project.harness(
        "verify-deploy",
        "--env",
        "live",
        "--expect-build",
        "b-3",
        "--interval",
        "0.2s",
        env=live_env(project, [new, old]),
    )
    upgrader.join()
    assert result.returncode == 0, result.stdout + result.stderr
    rollout = json.loads((project.latest() / "deploy" / "rollout.json").read_text())
    assert rollout["builds"][old] == "b-3"
    assert rollout["lagging"] == []
    assert gate_outcomes(project.verdict()) == {"rollout-time": "PASS"}


def test_rollout_timeout_names_instances(project: Project, services: AgentChatServices) -> None:
    new, old = services.start("b-3"), services.start("b-2")
    result = project.harness(
        "verify-deploy",
        "--env",
        "live",
        "--expect-build",
        "b-3",
        "--timeout",
        "1s",
        "--interval",
        "0.2s",
        env=live_env(project, [new, old]),
    )
    assert result.returncode == 1
    assert "still not on b-3 after" in result.stdout
    assert f"s: {old}" in result.stdout
    assert gate_outcomes(project.verdict()) == {"rollout-time": "NO_EVIDENCE"}


def test_probe_measures_availability(project: Project, services: AgentChatServices) -> None:
    urls = [services.start("b-1"), services.start("b-1")]
    env = live_env(project, urls)
    healthy = project.harness(
        "probe", "--env", "live", "--interval", "0.2s", "--duration", "1s", env=env
    )
    assert healthy.returncode == 0, healthy.stdout + healthy.stderr
    checks = (project.latest() / "probe" / "checks.jsonl").read_text().splitlines()
    assert len(checks) >= 6
    assert all(json.loads(line)["ok"] for line in checks)

    services.stop(urls[1])
    degraded = project.harness(
        "probe",
        "--env",
        "live",
        "--base-url",
        urls[0],
        "--interval",
        "0.2s",
        "--duration",
        "1s",
        env=env,
    )
    assert degraded.returncode == 1
    assert gate_outcomes(project.verdict()) == {"availability": "FAIL"}


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["probe", "--interval", "soon"], "invalid duration 'soon'"),
        (["probe", "--interval", "0s"], "must be positive"),
        (["probe", "--interval", "1s", "--duration", "100000h"], "at most 100000 rounds"),
    ],
)
def test_probe_bad_durations(project: Project, args: list[str], fragment: str) -> None:
    result = project.harness(*args)
    assert result.returncode == 2
    assert fragment in result.stderr


def test_blue_green_candidate(project: Project, services: AgentChatServices) -> None:
    live, candidate = services.start("b-1"), services.start("b-2")
    env = live_env(project, [live])
    project.write(
        "environments/live.toml",
        LIVE
        + 'candidate_url_env = "LIVE_CANDIDATE_URL"\n'
        + '\n[accounts.alice]\nusername = "alice"\npassword_env = "LIVE_PASSWORD"\n',
    )
    env.update(LIVE_CANDIDATE_URL=candidate, LIVE_PASSWORD="seed-secret")

    args = ["run", "uat", "--env", "live", "--candidate", "--stage", "staging"]
    switch = project.harness(*args, env=env)
    assert switch.returncode == 0, switch.stdout + switch.stderr
    assert f"blue-green: traffic may be switched to the candidate {candidate}" in switch.stdout
    assert project.manifest()["build_id"] == "b-2"

    env["LIVE_PASSWORD"] = "not-the-password"
    stay = project.harness(*args, env=env)
    assert stay.returncode == 1
    assert f"blue-green: traffic must stay off the candidate {candidate}" in stay.stdout


def test_candidate_needs_configuration(project: Project) -> None:
    result = project.harness("run", "uat", "--env", "staging", "--candidate")
    assert result.returncode == 2
    assert "--candidate needs target.candidate_url_env" in result.stderr
