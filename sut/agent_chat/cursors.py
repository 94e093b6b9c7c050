"""Opaque pagination cursors that encode a message id."""

import base64
import binascii

from agent_chat.errors import InvalidCursor

_PREFIX = "m:"
MAX_CURSOR_LENGTH = 64


def encode_cursor(message_id: int) -> str:
    return base64.urlsafe_b64encode(f"{_PREFIX}{message_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    """Return the message id in a cursor, or raise InvalidCursor."""
    invalid = InvalidCursor(
        f"invalid cursor {cursor[:MAX_CURSOR_LENGTH]!r}; pass a next_cursor value from this API"
    )
    if len(cursor) > MAX_CURSOR_LENGTH:
        raise invalid
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise invalid from None
    digits = text.removeprefix(_PREFIX)
    if not text.startswith(_PREFIX) or not digits.isdigit() or not digits.isascii():
        raise invalid
    return int(digits)
