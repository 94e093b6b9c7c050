"""The shard plugin: run only the tests of one shard (see harness.shards).

The uat and unit runners load it with `-p harness.pytest_shard --harness-shard INDEX/COUNT`;
without that option it does nothing. The other shards' tests are deselected after every other
selection (-k, -m, node ids), so they appear in neither the JUnit XML nor the Allure results of
this shard. Under pytest-xdist every worker collects and deselects alike, because the partition
depends only on the node id.
"""

from __future__ import annotations

import pytest

from harness.shards import parse_shard

__all__ = ["SHARD_OPTION"]

SHARD_OPTION = "--harness-shard"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.getgroup("harness").addoption(
        SHARD_OPTION, default="", help="run only shard INDEX/COUNT of the selected tests"
    )


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    value = str(config.getoption(SHARD_OPTION) or "")
    if not value:
        return
    shard = parse_shard(value)
    selected = [item for item in items if shard.holds(item.nodeid)]
    deselected = [item for item in items if not shard.holds(item.nodeid)]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
    items[:] = selected
