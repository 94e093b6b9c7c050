"""Command line: option parsing, exit code 2 with one line on stderr, and a real server run."""

import errno
import json
import logging
import os
import runpy
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import httpx
import pytest
import uvicorn
import websockets.sync.client
from agent_chat import cli
from agent_chat.logs import RedactTokensFilter, redact_tokens
from unit_helpers import SEED_PASSWORD

SUT_DIR = Path(__file__).resolve().parents[2] / "sut"
HOST = "127.0.0.1"


@pytest.fixture
def busy_port() -> Iterator[int]:
    """Yield a loopback port that a listening socket of this test occupies."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        sock.listen()
        yield sock.getsockname()[1]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def sut_env(**extra: str) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if not name.startswith("AGENT_CHAT_")}
    env["PYTHONPATH"] = str(SUT_DIR)
    env.update(extra)
    return env


def wait_for_health(base_url: str, timeout_s: float = 20) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base_url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.05)
    raise AssertionError(f"{base_url}/healthz did not respond within {timeout_s} s")


def test_parse_args_defaults() -> None:
    args = cli.parse_args([])

    assert args.host == "127.0.0.1"
    assert args.port == 8000
    assert args.db is None
    assert args.faults_file is None
    assert args.log_level == "info"
    assert args.access_log is True


def test_parse_args_no_access_log() -> None:
    args = cli.parse_args(["--no-access-log"])

    assert args.access_log is False


def test_bind_socket_port_in_use(busy_port: int) -> None:
    with pytest.raises(cli.ListenError) as error:
        cli.bind_socket(HOST, busy_port)

    assert (
        str(error.value)
        == f"port {busy_port} on 127.0.0.1 is already in use; choose another --port"
    )


def test_bind_socket_other_error(monkeypatch: pytest.MonkeyPatch) -> None:
    class DeniedSocket(socket.socket):
        def bind(self, address: Any) -> None:
            raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(socket, "socket", DeniedSocket)

    with pytest.raises(
        cli.ListenError, match=r"cannot listen on 127\.0\.0\.1 port 80: Permission denied"
    ):
        cli.bind_socket(HOST, 80)


def test_bind_socket_returns_bound_socket() -> None:
    sock = cli.bind_socket(HOST, 0)

    assert sock.getsockname()[0] == HOST
    sock.close()


def test_main_port_in_use_exits_2(
    busy_port: int, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = cli.main(["--port", str(busy_port), "--db", str(tmp_path / "chat.db")])

    assert code == 2
    assert capsys.readouterr().err == (
        f"agent_chat: port {busy_port} on 127.0.0.1 is already in use; choose another --port\n"
    )


def test_main_bad_faults_json_exits_2(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AGENT_CHAT_FAULTS", '{"routes": {"*": {"error_rate": 2}}}')

    code = cli.main(["--port", str(free_port()), "--db", str(tmp_path / "chat.db")])

    assert code == 2
    assert capsys.readouterr().err == (
        "agent_chat: AGENT_CHAT_FAULTS: routes['*'].error_rate must be a number from 0 to 1, "
        "got 2\n"
    )


def test_main_unknown_fault_route_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    faults = tmp_path / "faults.json"
    faults.write_text(json.dumps({"routes": {"GET /api/unknown": {"error_rate": 1}}}))
    port = free_port()

    code = cli.main(
        ["--port", str(port), "--db", str(tmp_path / "chat.db"), "--faults-file", str(faults)]
    )

    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1
    assert err.startswith("agent_chat: faults: route key 'GET /api/unknown' matches no /api route")
    # The port must be released again after the failed start.
    cli.bind_socket(HOST, port).close()


def test_main_invalid_env_exits_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AGENT_CHAT_TOKEN_TTL_S", "soon")

    assert cli.main(["--port", str(free_port())]) == 2
    assert capsys.readouterr().err == (
        "agent_chat: AGENT_CHAT_TOKEN_TTL_S must be an integer from 1 to 315360000, got 'soon'\n"
    )


def test_module_entry_point_exits_2(
    busy_port: int, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(
        sys, "argv", ["agent_chat", "--port", str(busy_port), "--db", str(tmp_path / "chat.db")]
    )

    with pytest.raises(SystemExit) as exited:
        runpy.run_module("agent_chat", run_name="__main__")

    assert exited.value.code == 2


def test_redact_tokens_in_text() -> None:
    assert redact_tokens('"WebSocket /api/ws?token=v1.1.2.abc&x=1" 101') == (
        '"WebSocket /api/ws?token=[redacted]&x=1" 101'
    )


def test_redact_filter_rewrites_record() -> None:
    record = logging.LogRecord(
        "uvicorn.error",
        logging.INFO,
        __file__,
        1,
        "%s - %s token=abc",
        ("1.2.3.4", "/api/ws?token=v1.2"),
        None,
    )

    assert RedactTokensFilter().filter(record) is True
    assert record.getMessage() == "1.2.3.4 - /api/ws?token=[redacted] token=[redacted]"


class RecordingServer(uvicorn.Server):
    """uvicorn.Server that records its instances, so a test can stop a server run in a thread."""

    instances: ClassVar[list["RecordingServer"]] = []

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        RecordingServer.instances.append(self)


def test_main_serves_until_stopped(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(uvicorn, "Server", RecordingServer)
    monkeypatch.setenv("AGENT_CHAT_SEED_PASSWORD", SEED_PASSWORD)
    monkeypatch.setenv("AGENT_CHAT_BUILD_ID", "in-thread")
    RecordingServer.instances.clear()
    caplog.set_level(logging.INFO)
    port = free_port()
    base_url = f"http://{HOST}:{port}"
    result: list[int] = []
    thread = threading.Thread(
        target=lambda: result.append(
            cli.main(["--port", str(port), "--db", str(tmp_path / "chat.db")])
        )
    )
    thread.start()
    try:
        wait_for_health(base_url)
        assert httpx.get(f"{base_url}/version").json()["build"] == "in-thread"
        login = httpx.post(
            f"{base_url}/api/login", json={"username": "alice", "password": SEED_PASSWORD}
        )
        token = login.json()["token"]
        with websockets.sync.client.connect(f"ws://{HOST}:{port}/api/ws?token={token}") as ws:
            assert json.loads(ws.recv(timeout=5))["type"] == "ready"
    finally:
        for server in RecordingServer.instances:
            server.should_exit = True
        thread.join(timeout=20)

    assert result == [0]
    assert RecordingServer.instances[0].config.access_log is True
    assert f"starting agent_chat 0.1.0 on http://127.0.0.1:{port}" in caplog.text
    assert "build in-thread" in caplog.text
    assert "agent_chat stopped" in caplog.text
    assert token not in caplog.text
    assert SEED_PASSWORD not in caplog.text


def test_subprocess_port_in_use_exits_2(busy_port: int, tmp_path: Path) -> None:
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "agent_chat",
            "--host",
            HOST,
            "--port",
            str(busy_port),
            "--db",
            str(tmp_path / "c.db"),
        ],
        env=sut_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert completed.returncode == 2
    assert (
        completed.stderr
        == f"agent_chat: port {busy_port} on 127.0.0.1 is already in use; choose another --port\n"
    )


def test_subprocess_bad_faults_file_exits_2(tmp_path: Path) -> None:
    faults = tmp_path / "faults.toml"
    faults.write_text('[routes."*"]\nerror_rate = "often"\n')

    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "agent_chat",
            "--port",
            str(free_port()),
            "--faults-file",
            str(faults),
        ],
        env=sut_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert completed.returncode == 2
    assert completed.stderr.count("\n") == 1
    assert "routes['*'].error_rate must be a number from 0 to 1, got 'often'" in completed.stderr


def test_subprocess_serves_and_stops_on_sigterm(tmp_path: Path) -> None:
    port = free_port()
    base_url = f"http://{HOST}:{port}"
    command = [
        sys.executable,
        "-m",
        "agent_chat",
        "--host",
        HOST,
        "--port",
        str(port),
        "--db",
        str(tmp_path / "c.db"),
    ]
    env = sut_env(
        AGENT_CHAT_SEED_PASSWORD=SEED_PASSWORD,
        AGENT_CHAT_FAULTS='{"routes": {"GET /api/me": {"error_rate": 1}}}',
    )
    process = subprocess.Popen(command, env=env, stderr=subprocess.PIPE, text=True)
    try:
        wait_for_health(base_url)
        login = httpx.post(
            f"{base_url}/api/login", json={"username": "bob", "password": SEED_PASSWORD}
        )
        token = login.json()["token"]
        assert (
            httpx.get(
                f"{base_url}/api/me", headers={"Authorization": f"Bearer {token}"}
            ).status_code
            == 503
        )
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=30)

    # uvicorn shuts down gracefully and then re-raises the signal, so the status is that of SIGTERM.
    assert process.returncode == -signal.SIGTERM
    assert f"on http://127.0.0.1:{port}" in stderr
    assert "fault injection: GET /api/me: 1 errors, 0 delays" in stderr
    assert "agent_chat stopped" in stderr
    assert SEED_PASSWORD not in stderr
    assert token not in stderr
