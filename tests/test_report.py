"""`harness report` builds a run's report with the real Allure 3 CLI and keeps a bounded trend."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import psutil
import pytest

from harness.reporting.report import ReportRequest
from harness.runs import RunFolder
from tests.conftest import PROJECT, Project, free_port

pytestmark = pytest.mark.slow

SERVE_START_TIMEOUT_S = 120


def link_node_tools(project: Project) -> None:
    """Give the project copy the pinned Node tools, as `npm ci` would in a checkout."""
    assert (PROJECT / "node_modules" / ".bin" / "allure").exists(), "install Allure: npm ci"
    (project.root / "node_modules").symlink_to(PROJECT / "node_modules")


def history_entries(project: Project) -> list[dict[str, object]]:
    path = project.reports / "allure-history" / "local-dev.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def copy_run(project: Project, run: Path, run_id: str) -> Path:
    """Store a copy of a finished run under another id, standing in for a later run."""
    copy = run.parent / run_id
    shutil.copytree(run, copy, symlinks=True)
    manifest = json.loads((copy / "run.json").read_text())
    manifest["run_id"] = run_id
    (copy / "run.json").write_text(json.dumps(manifest))
    return copy


def test_report_renders_run(project: Project) -> None:
    link_node_tools(project)
    assert project.harness("run", "uat").returncode == 0

    built = project.harness("report")

    assert built.returncode == 0, built.stderr
    output = project.latest() / "allure-report"
    assert f"report: {output / 'index.html'}" in built.stdout
    summary = json.loads((output / "summary.json").read_text())
    assert summary["stats"]["total"] == 9
    assert summary["stats"]["passed"] == 9
    # With a history file, Allure counts the tests no earlier build had: all of them, here.
    assert summary["stats"]["new"] == 9
    assert summary["name"] == f"run {project.latest().name}: build local-dev on local"
    assert len(history_entries(project)) == 1

    empty = project.root / "empty"
    empty.mkdir()
    elsewhere = project.harness("report", "--output", "empty")
    assert elsewhere.returncode == 0, elsewhere.stderr
    assert (empty / "index.html").is_file()


def test_report_twice_keeps_one_point(project: Project) -> None:
    link_node_tools(project)
    assert project.harness("run", "uat").returncode == 0

    first = project.harness("report")
    # The single-file report of the same run replaces that run's point too.
    second = project.harness("report", "--single-file")

    assert first.returncode == 0, first.stderr
    assert second.returncode == 0, second.stderr
    assert "replacing the earlier trend point" in second.stderr
    entries = history_entries(project)
    assert len(entries) == 1
    assert entries[0]["name"] == f"run {project.latest().name}: build local-dev on local"


def test_history_stays_bounded(project: Project) -> None:
    link_node_tools(project)
    assert project.harness("run", "uat").returncode == 0
    first = project.latest()
    runs = [first, copy_run(project, first, "run-2"), copy_run(project, first, "run-3")]

    for run in runs:
        built = project.harness("report", "--run", run.name, "--history-limit", "2")
        assert built.returncode == 0, built.stderr

    names = [entry["name"] for entry in history_entries(project)]
    assert names == [
        "run run-2: build local-dev on local",
        "run run-3: build local-dev on local",
    ]


def test_corrupt_history_starts_fresh(project: Project) -> None:
    link_node_tools(project)
    assert project.harness("run", "uat").returncode == 0
    text = '{"uuid": "a", "name": "x"}\n\n{trunc\n'
    history = project.write("reports/allure-history/local-dev.jsonl", text)

    built = project.harness("report")

    assert built.returncode == 0, built.stderr
    warnings = [line for line in built.stderr.splitlines() if "is corrupt" in line]
    assert len(warnings) == 1
    assert "line 3 is not a JSON object" in warnings[0]
    assert "started a fresh history" in warnings[0]
    assert history.with_name("local-dev.jsonl.corrupt").read_text().endswith("{trunc\n")
    assert len(history_entries(project)) == 1

    history.write_bytes(b'{"uuid": "a", "name": "\xff"}\n')
    rebuilt = project.harness("report")

    assert rebuilt.returncode == 0, rebuilt.stderr
    assert "byte 23 is not UTF-8" in rebuilt.stderr
    assert len(history_entries(project)) == 1


def test_report_rejects_bad_input(project: Project) -> None:
    missing_run = project.harness("report", "--run", "no-such-run")
    assert missing_run.returncode == 2
    assert missing_run.stderr.strip().splitlines() == [
        f"harness: error: run 'no-such-run' not found under {project.reports / 'runs'}; "
        f"list runs with: ls {project.reports / 'runs'}"
    ]

    bad_port = project.harness("report", "--serve", "--port", "70000")
    assert bad_port.returncode == 2
    assert "'70000' is not a port number from 0 to 65535" in bad_port.stderr

    bad_limit = project.harness("report", "--history-limit", "0")
    assert bad_limit.returncode == 2
    assert "'0' is not a whole number of at least 1" in bad_limit.stderr
    assert "Traceback" not in bad_limit.stderr

    assert project.harness("run", "uat").returncode == 0
    no_cli = project.harness("report")
    assert no_cli.returncode == 2
    assert "the Allure 3 CLI" in no_cli.stderr
    assert "npm ci" in no_cli.stderr

    link_node_tools(project)
    not_a_report = project.harness("report", "--output", "scenarios")
    assert not_a_report.returncode == 2
    assert "non-empty folder but no Allure report" in not_a_report.stderr
    assert (project.root / "scenarios").is_dir()

    a_file = project.harness("report", "--output", "gates.toml")
    assert a_file.returncode == 2
    assert "gates.toml is a file" in a_file.stderr

    shutil.rmtree(project.latest() / "allure-results")
    no_results = project.harness("report")
    assert no_results.returncode == 2
    assert "has no Allure results" in no_results.stderr


def test_report_fails_when_allure_fails(project: Project) -> None:
    link_node_tools(project)
    assert project.harness("run", "uat").returncode == 0
    # Allure cannot open a folder as its history file, so the real CLI exits with an error.
    (project.reports / "allure-history" / "local-dev.jsonl").mkdir(parents=True)

    built = project.harness("report")

    assert built.returncode == 1
    log = project.latest() / "logs" / "allure-report.log"
    assert f"allure generate failed with exit code 1; see {log}" in built.stderr
    assert "Traceback" not in built.stderr


def start_server(project: Project, *args: str) -> tuple[subprocess.Popen[str], str]:
    """Start `harness report --serve` and return the process and the URL it prints."""
    command = [sys.executable, "-m", "harness", "--root", str(project.root), "report", "--serve"]
    server = subprocess.Popen(
        [*command, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert server.stdout is not None
    for line in server.stdout:
        if line.startswith("serving the report at "):
            return server, line.split()[4]
    server.wait(SERVE_START_TIMEOUT_S)
    raise AssertionError(f"the server printed no URL: {server.stderr.read()}")  # type: ignore[union-attr]


def stop_server(server: subprocess.Popen[str]) -> int:
    server.send_signal(signal.SIGINT)
    return server.wait(30)


def listening_addresses(pid: int) -> set[str]:
    connections = psutil.Process(pid).net_connections(kind="inet")
    return {conn.laddr.ip for conn in connections if conn.status == psutil.CONN_LISTEN}


def test_serve_binds_loopback(project: Project) -> None:
    link_node_tools(project)
    assert project.harness("run", "uat").returncode == 0

    server, url = start_server(project)
    try:
        addresses = listening_addresses(server.pid)
        page = httpx.get(url, timeout=10)
    finally:
        exit_code = stop_server(server)

    assert addresses == {"127.0.0.1"}
    assert url.startswith("http://127.0.0.1:")
    assert page.status_code == 200
    assert "allureReportOptions" in page.text
    assert exit_code == 0


def test_serve_rejects_busy_port(project: Project) -> None:
    link_node_tools(project)
    assert project.harness("run", "uat").returncode == 0
    port = free_port()
    server, url = start_server(project, "--port", str(port))
    history = project.reports / "allure-history" / "local-dev.jsonl"
    before = history.read_text()
    try:
        second = project.harness("report", "--serve", "--port", str(port))
    finally:
        stop_server(server)

    assert url == f"http://127.0.0.1:{port}/"
    assert second.returncode == 2
    assert f"port {port} on 127.0.0.1 is already in use" in second.stderr
    # The port is checked before the build, so the rejected call left the trend alone.
    assert history.read_text() == before


def test_history_kept_per_environment_and_stage(tmp_path: Path) -> None:
    run = RunFolder.create(tmp_path / "reports", "staging", "release candidate")
    request = ReportRequest(tmp_path, tmp_path / "reports", run, tmp_path / "out")
    expected = tmp_path / "reports" / "allure-history" / "staging-release_candidate.jsonl"
    assert request.history == expected
