"""Opaque pagination cursors that encode a message id."""

import base64
import re

from agent_chat.errors import InvalidCursor

_PREFIX = "m:"
MAX_CURSOR_LENGTH = 64
# SQLite stores message ids as signed 64-bit integers.
MAX_MESSAGE_ID = 2**63 - 1

# The exact set of cursors this service issues: unpadded URL-safe base64 of "m:" and 1 to 21
# decimal digits. The first block of four characters encodes "m:" and one digit. Each further full
# block encodes three digits, whose high nibble 0x3 fixes most of its bits. A final block of two or
# three characters encodes one or two digits. The pattern is published for `before`, so every
# string the OpenAPI document allows is a cursor the service accepts.
_DIGIT_PAIR = "(?:[MN][DTjz]|O[DT])[AEIMQUYcgk]"
CURSOR_PATTERN = f"^bTo[w-z0-5](?:{_DIGIT_PAIR}[w-z0-5]){{0,6}}(?:[MN][AQgw]|O[AQ]|{_DIGIT_PAIR})?$"
_CURSOR = re.compile(CURSOR_PATTERN)


def encode_cursor(message_id: int) -> str:
    return base64.urlsafe_b64encode(f"{_PREFIX}{message_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    """Return the message id in a cursor, capped at MAX_MESSAGE_ID, or raise InvalidCursor."""
    invalid = InvalidCursor(
        f"invalid cursor {cursor[:MAX_CURSOR_LENGTH]!r}; pass a next_cursor value from this API"
    )
    if len(cursor) > MAX_CURSOR_LENGTH or not _CURSOR.fullmatch(cursor):
        raise invalid
    text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
    # A cursor past the largest id means "older than every message", which the largest id also
    # means, and larger values would overflow SQLite's integer.
    return min(int(text.removeprefix(_PREFIX)), MAX_MESSAGE_ID)
