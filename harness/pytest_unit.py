"""The unit runner's pytest plugin: which processes ran tests, how many tests were collected, and
how often each test was rerun.

The unit runner loads it with `-p harness.pytest_unit --harness-unit-state DIR`; without that
option it does nothing. It writes small JSON files into DIR, one per file name, so pytest-xdist
workers never write the same file:

- `process-<worker>-<pid>.json` for the controller and every worker, so the runner can tell
  which process's coverage data is missing;
- `collected.json` with the number of tests selected to run, to hold against the verdicts.

It also records the number of reruns of a test (pytest-rerunfailures) as the JUnit property
`reruns` of its last attempt.
"""

from __future__ import annotations

import json
import os
from collections.abc import Generator, Sequence
from pathlib import Path
from typing import Any

import pytest

__all__ = ["STATE_OPTION"]

STATE_OPTION = "--harness-unit-state"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.getgroup("harness").addoption(
        STATE_OPTION, default="", help="folder where the harness's unit runner reads run state"
    )


def state_dir(config: pytest.Config) -> Path | None:
    value = str(config.getoption(STATE_OPTION) or "")
    return Path(value) if value else None


def worker_id(config: pytest.Config) -> str:
    workerinput: dict[str, Any] = getattr(config, "workerinput", {})
    return str(workerinput.get("workerid", "controller"))


def write_state(config: pytest.Config, name: str, data: dict[str, object]) -> None:
    directory = state_dir(config)
    if directory is not None:
        directory.mkdir(parents=True, exist_ok=True)
        (directory / name).write_text(json.dumps(data) + "\n", encoding="utf-8")


def pytest_configure(config: pytest.Config) -> None:
    process, pid = worker_id(config), os.getpid()
    write_state(config, f"process-{process}-{pid}.json", {"process": process, "pid": pid})


def pytest_collection_finish(session: pytest.Session) -> None:
    # With pytest-xdist the controller collects nothing; the workers' collections are reported
    # through pytest_xdist_node_collection_finished below.
    config = session.config
    if worker_id(config) == "controller" and not config.pluginmanager.hasplugin("dsession"):
        write_state(config, "collected.json", {"collected": len(session.items)})


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_node_collection_finished(node: Any, ids: Sequence[str]) -> None:
    # pytest-xdist stops the run when workers collect different tests, so one count fits all.
    write_state(node.config, "collected.json", {"collected": len(ids)})


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    # pytest-rerunfailures counts attempts in item.execution_count; the teardown report of an
    # attempt carries the item's user properties into its JUnit testcase.
    if call.when == "teardown":
        reruns = int(getattr(item, "execution_count", 1)) - 1
        item.user_properties[:] = [p for p in item.user_properties if p[0] != "reruns"]
        if reruns > 0:
            item.user_properties.append(("reruns", str(reruns)))
    return (yield)
