"""Pagination cursors."""

import pytest
from agent_chat.cursors import decode_cursor, encode_cursor
from agent_chat.errors import InvalidCursor


@pytest.mark.parametrize("message_id", [0, 1, 42, 2**62])
def test_cursor_round_trip(message_id: int) -> None:
    cursor = encode_cursor(message_id)

    assert decode_cursor(cursor) == message_id
    assert str(message_id) not in cursor


@pytest.mark.parametrize("cursor", ["", "zz", "bTp4", "eDox", "bTo", "%%%", "x" * 65, "bTrZoQ"])
def test_invalid_cursor_rejected(cursor: str) -> None:
    with pytest.raises(InvalidCursor, match="pass a next_cursor value from this API"):
        decode_cursor(cursor)
