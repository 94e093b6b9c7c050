"""Salted scrypt password hashes in the form ``scrypt$n$r$p$salt$hash`` (base64url parts)."""

import base64
import hashlib
import hmac
import logging
import secrets
from functools import cache

logger = logging.getLogger(__name__)

# NOTE: n=2**14, r=8, p=1 are the interactive-login parameters of the scrypt paper (Percival, 2009),
# below the n=2**15 that golang.org/x/crypto/scrypt has recommended since 2017. They keep logins
# to this test service cheap. Each hash needs 128 * n * r bytes, which is 16 MiB.
SCRYPT_N = 2**14
SCRYPT_R = 8
SCRYPT_P = 1
_MAX_MEMORY = 64 * 1024 * 1024

# A stored hash that no password matches, for accounts that must not log in with a password.
UNUSABLE_PASSWORD = "!"  # noqa: S105 - a marker, not a password


def hash_password(password: str) -> str:
    """Hash a password with a fresh random salt."""
    salt = secrets.token_bytes(16)
    digest = _scrypt(password, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${_encode(salt)}${_encode(digest)}"


def verify_password(password: str, encoded: str) -> bool:
    """Return whether ``password`` matches the stored hash.

    Unusable or malformed hashes never match.
    """
    parts = encoded.split("$")
    if len(parts) != 6 or parts[0] != "scrypt":
        return False
    try:
        n, r, p = int(parts[1]), int(parts[2]), int(parts[3])
        salt, expected = _decode(parts[4]), _decode(parts[5])
        actual = _scrypt(password, salt, n, r, p)
    except ValueError:
        logger.warning("a stored password hash is malformed, so the login is rejected")
        return False
    return hmac.compare_digest(actual, expected)


@cache
def dummy_hash() -> str:
    """Return a valid hash of a random password, to verify against when the username is unknown.

    Verifying anyway makes a login for an unknown user take about as long as a wrong password.
    """
    return hash_password(secrets.token_urlsafe(16))


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(password.encode(), salt=salt, n=n, r=r, p=p, maxmem=_MAX_MEMORY, dklen=32)


def _encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (ValueError, TypeError) as exc:
        raise ValueError(f"invalid base64 in password hash: {exc}") from None
