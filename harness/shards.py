"""Shards: one part of a suite's tests, so CI can spread a suite over several machines.

A test belongs to shard `sha256(node id) mod count + 1`. The hash depends only on the pytest node
id, never on the process (Python's hash() is salted per process) or on the collection order, so
every machine that collects the same tests puts each test in the same shard. The shards 1..count
together therefore run every selected test exactly once.
"""

from __future__ import annotations

import argparse
import hashlib
from dataclasses import dataclass

__all__ = ["MAX_SHARDS", "SHARDABLE_SUITES", "Shard", "parse_shard", "shard_of"]

MAX_SHARDS = 64
# The pytest-based suites whose evidence `harness merge` can combine.
SHARDABLE_SUITES = frozenset({"uat", "unit"})


@dataclass(frozen=True)
class Shard:
    """Shard `index` of `count`, both counted from 1."""

    index: int
    count: int

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

    def holds(self, node_id: str) -> bool:
        return shard_of(node_id, self.count) == self.index


def shard_of(node_id: str, count: int) -> int:
    """Return the shard (1 to count) that the test with this pytest node id belongs to."""
    digest = hashlib.sha256(node_id.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % count + 1


def parse_shard(text: str) -> Shard:
    """Parse "i/n" with 1 <= i <= n <= MAX_SHARDS; argparse turns the error into one line."""
    index_text, slash, count_text = text.partition("/")
    if not slash or not index_text.isdigit() or not count_text.isdigit():
        raise argparse.ArgumentTypeError(f"invalid shard {text!r}; write INDEX/COUNT, e.g. 1/4")
    index, count = int(index_text), int(count_text)
    if not 1 <= count <= MAX_SHARDS:
        message = f"invalid shard {text!r}: the count must be from 1 to {MAX_SHARDS}"
        raise argparse.ArgumentTypeError(message)
    if not 1 <= index <= count:
        message = f"invalid shard {text!r}: the index must be from 1 to the count {count}"
        raise argparse.ArgumentTypeError(message)
    return Shard(index, count)
