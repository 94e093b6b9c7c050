"""Bearer tokens of the form ``v1.<user_id>.<expires_at>.<signature>``, signed with HMAC-SHA256.

The service keeps no token state, so a token check costs one HMAC, and there is no logout.
"""

import base64
import hashlib
import hmac
import time

_VERSION = "v1"
MAX_TOKEN_LENGTH = 256


class InvalidToken(Exception):
    """A token that is malformed, tampered with, signed with another key, or expired."""


class TokenSigner:
    """Issue and verify bearer tokens with one secret key and lifetime."""

    def __init__(self, secret: bytes, ttl_s: int) -> None:
        self._secret = secret
        self.ttl_s = ttl_s

    def issue(self, user_id: int, now: float | None = None) -> str:
        """Return a token for ``user_id`` that expires ``ttl_s`` seconds after ``now``."""
        issued_at = time.time() if now is None else now
        payload = f"{_VERSION}.{user_id}.{int(issued_at) + self.ttl_s}"
        return f"{payload}.{self._sign(payload)}"

    def verify(self, token: str, now: float | None = None) -> int:
        """Return the user id in a valid token, or raise InvalidToken saying why it is invalid."""
        parts = token.split(".") if len(token) <= MAX_TOKEN_LENGTH else []
        if (
            len(parts) != 4
            or parts[0] != _VERSION
            or not _is_decimal(parts[1])
            or not _is_decimal(parts[2])
        ):
            raise InvalidToken("malformed token")
        payload = ".".join(parts[:3])
        if not hmac.compare_digest(parts[3].encode(), self._sign(payload).encode()):
            raise InvalidToken("invalid token signature")
        current = time.time() if now is None else now
        if int(parts[2]) <= current:
            raise InvalidToken("token expired")
        return int(parts[1])

    def _sign(self, payload: str) -> str:
        digest = hmac.new(self._secret, payload.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def _is_decimal(text: str) -> bool:
    return text.isascii() and text.isdigit() and len(text) <= 20
