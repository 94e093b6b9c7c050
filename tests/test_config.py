"""Environment and gates files: valid files load, and every kind of bad input names file and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.config import load_environment, load_gates
from harness.config.environment import UnitMode
from harness.errors import Problem, UsageError
from tests.conftest import PROJECT


def write_environment(root: Path, name: str, text: str) -> None:
    (root / "environments").mkdir(parents=True, exist_ok=True)
    (root / "environments" / f"{name}.toml").write_text(text)


def test_shipped_environments_load() -> None:
    local = load_environment("local", PROJECT)
    production = load_environment("production", PROJECT)
    assert local.target.embedded
    assert local.name == "local"
    assert production.sensitive
    assert production.target.base_url_env == "PRODUCTION_BASE_URL"


def test_unknown_environment_lists_choices() -> None:
    with pytest.raises(UsageError) as caught:
        load_environment("qa7", PROJECT)
    assert caught.value.problem is Problem.UNKNOWN_ENVIRONMENT
    assert "local, production, staging" in caught.value.message()


def test_environment_name_cannot_escape_folder() -> None:
    with pytest.raises(UsageError) as caught:
        load_environment("../gates", PROJECT)
    assert caught.value.problem is Problem.UNKNOWN_ENVIRONMENT


def test_malformed_toml_names_file(tmp_path: Path) -> None:
    write_environment(tmp_path, "broken", "[target\nembedded = true\n")
    with pytest.raises(UsageError) as caught:
        load_environment("broken", tmp_path)
    message = caught.value.message()
    assert caught.value.problem is Problem.MALFORMED_TOML
    assert "broken.toml" in message
    assert "line 1" in message


@pytest.mark.parametrize(
    ("text", "key", "reason"),
    [
        ('[target]\nembedded = true\nport = "eighty"\n', "target.port", "integer"),
        ("[target]\nembedded = true\nport = 70000\n", "target.port", "65535"),
        ("[target]\nembedded = true\nprot = 1\n", "target.prot", "unknown key"),
        ("sensitive = true\n", "target", "required key is missing"),
        ('[target]\nembedded = true\nbase_url = "http://127.0.0.1:1"\n', "target", "either"),
        ('[target]\nembedded = true\nhost = "0.0.0.0"\n', "target", "loopback"),
        ('[target]\nbase_url_env = "1BAD"\n', "target.base_url_env", "pattern"),
    ],
)
def test_invalid_values_name_key(tmp_path: Path, text: str, key: str, reason: str) -> None:
    write_environment(tmp_path, "bad", text)
    with pytest.raises(UsageError) as caught:
        load_environment("bad", tmp_path)
    message = caught.value.message()
    assert caught.value.problem is Problem.INVALID_VALUE
    assert f"key {key}:" in message
    assert reason in message
    assert "bad.toml" in message


def test_shipped_gates_have_dev_stage() -> None:
    gates = load_gates(PROJECT / "gates.toml")
    dev = gates.stage("dev", PROJECT / "gates.toml")
    assert {gate.metric for gate in dev.gates} >= {"uat.scenarios.failed", "uat.scenarios.executed"}


def test_unknown_stage_lists_choices() -> None:
    gates = load_gates(PROJECT / "gates.toml")
    with pytest.raises(UsageError) as caught:
        gates.stage("qa", PROJECT / "gates.toml")
    assert "dev, device, peak, performance, production, release, staging" in caught.value.message()


@pytest.mark.parametrize(
    ("gate", "key"),
    [
        ('name = "g"\nmetric = "uat.x"\ncomparison = "=<"\nthreshold = 1', "comparison"),
        ('name = "g"\nmetric = "uat.x"\ncomparison = "<"\nthreshold = "ten"', "threshold"),
        ('name = "g"\nmetric = "Latency"\ncomparison = "<"\nthreshold = 1', "metric"),
    ],
)
def test_invalid_gate_names_key(tmp_path: Path, gate: str, key: str) -> None:
    path = tmp_path / "gates.toml"
    path.write_text(f"[stages.dev]\n[[stages.dev.gates]]\n{gate}\n")
    with pytest.raises(UsageError) as caught:
        load_gates(path)
    assert f"key stages.dev.gates.0.{key}" in caught.value.message()


def test_unreadable_gates_file(tmp_path: Path) -> None:
    with pytest.raises(UsageError) as caught:
        load_gates(tmp_path / "missing.toml")
    assert caught.value.problem is Problem.UNREADABLE_FILE


UNIT_BASE = "[target]\nembedded = true\n\n[unit]\n"


@pytest.mark.parametrize(
    ("table", "key", "reason"),
    [
        ('workers = "many"', "unit.workers", "'auto' or a whole number from 0 to 64"),
        ("workers = -1", "unit.workers", "(got -1)"),
        ("reruns = 11", "unit.reruns", "less than or equal to 10"),
        ('checkout = "x"', "unit", "set checkout and command together"),
        ('checkout = "x"\ncommand = ["pytest", "{junit}"]', "unit.command", "unknown placeholder"),
        ('checkout = "x"\ncommand = ["pytest"]', "unit.command", "{junit_xml}"),
        (
            'checkout = "x"\ncommand = ["t", "{junit_xml}"]',
            "unit.command",
            "exactly one of {coverage_xml}",
        ),
        (
            'checkout = "x"\ncommand = ["t", "{junit_xml}", "{coverage_xml}"]\njunit_xml = "j"',
            "unit",
            "not both",
        ),
        ('coverage_xml = "a"\ncoverage_data = "b"', "unit", "either coverage_xml or"),
        ('junit_xml = "j.xml"', "unit", "junit_xml alone gives no coverage"),
        ('coverage_html = "x"', "unit.coverage_html", "unknown key"),
    ],
)
def test_invalid_unit_table_names_key(tmp_path: Path, table: str, key: str, reason: str) -> None:
    write_environment(tmp_path, "bad", UNIT_BASE + table + "\n")
    with pytest.raises(UsageError) as caught:
        load_environment("bad", tmp_path)
    message = caught.value.message()
    assert f"bad.toml: key {key}:" in message
    assert reason in message


@pytest.mark.parametrize(
    ("table", "mode"),
    [
        ("", UnitMode.EMBEDDED),
        ('checkout = "x"\ncommand = ["t", "{junit_xml}", "{coverage_data}"]', UnitMode.COMMAND),
        ('coverage_xml = "c.xml"\njunit_xml = "j.xml"', UnitMode.INGEST),
        ('coverage_data = "c.db"', UnitMode.INGEST),
    ],
)
def test_unit_table_modes(tmp_path: Path, table: str, mode: UnitMode) -> None:
    write_environment(tmp_path, "ok", UNIT_BASE + table + "\n")
    assert load_environment("ok", tmp_path).unit.mode is mode
