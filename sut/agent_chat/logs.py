"""Logging setup for the command line, with bearer tokens removed from uvicorn's log lines.

Uvicorn logs the full WebSocket path, and /api/ws carries the token in its query string.
"""

import logging
import re
import sys

_TOKEN_QUERY = re.compile(r"(token=)[^&\s\"']+")
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def redact_tokens(text: str) -> str:
    return _TOKEN_QUERY.sub(r"\1[redacted]", text)


class RedactTokensFilter(logging.Filter):
    """Replace the value of every ``token=`` query parameter in a record's message and arguments."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact_tokens(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(
                redact_tokens(arg) if isinstance(arg, str) else arg for arg in record.args
            )
        return True


def configure_logging(level: str) -> None:
    """Send records of ``level`` and above to stderr, with tokens redacted from uvicorn's records.

    Like logging.basicConfig, this adds no handler when the root logger has one, as under pytest.
    """
    logging.basicConfig(level=level.upper(), format=LOG_FORMAT, stream=sys.stderr)
    for name in ("uvicorn.access", "uvicorn.error"):
        uvicorn_logger = logging.getLogger(name)
        if not any(isinstance(existing, RedactTokensFilter) for existing in uvicorn_logger.filters):
            uvicorn_logger.addFilter(RedactTokensFilter())
