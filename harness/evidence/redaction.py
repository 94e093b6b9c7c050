"""Replace credentials in text a tool wrote, so reports and reproduction commands carry none."""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = ["PASSWORD_PLACEHOLDER", "TOKEN_PLACEHOLDER", "redact"]

TOKEN_PLACEHOLDER = "<TOKEN>"  # noqa: S105 - a placeholder, not a token
PASSWORD_PLACEHOLDER = "<PASSWORD>"  # noqa: S105 - a placeholder, not a password

# Each pattern keeps the name of the credential and replaces only its value: an Authorization
# header up to the closing quote of its shell word, a JSON "password" member, and a token query
# parameter as the WebSocket URL carries it.
AUTHORIZATION = re.compile(r"(?i)(authorization:\s*)[^'\"\n]+")
JSON_PASSWORD = re.compile(r'("password"\s*:\s*)"(?:[^"\\]|\\.)*"')
TOKEN_PARAMETER = re.compile(r"([?&]token=)[^&'\"\s]+")


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """Return `text` with known secret values and credential-shaped values replaced."""
    for secret in sorted(filter(None, secrets), key=len, reverse=True):
        text = text.replace(secret, PASSWORD_PLACEHOLDER)
    text = AUTHORIZATION.sub(rf"\1Bearer {TOKEN_PLACEHOLDER}", text)
    text = JSON_PASSWORD.sub(rf'\1"{PASSWORD_PLACEHOLDER}"', text)
    return TOKEN_PARAMETER.sub(rf"\1{TOKEN_PLACEHOLDER}", text)
