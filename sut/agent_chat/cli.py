"""Command line: ``python -m agent_chat --host 127.0.0.1 --port 8000``."""

import argparse
import errno
import logging
import os
import socket
import ssl
import sys
from collections.abc import Sequence
from pathlib import Path

import uvicorn
from fastapi import FastAPI

from agent_chat import __version__
from agent_chat.app import create_app
from agent_chat.config import Settings, load_settings
from agent_chat.errors import ConfigError
from agent_chat.logs import configure_logging

logger = logging.getLogger(__name__)

EXIT_USAGE = 2
LOG_LEVELS = ("debug", "info", "warning", "error")


class ListenError(Exception):
    """The address to listen on cannot be bound."""


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="agent_chat", description="Run the Agent Chat service.")
    parser.add_argument(
        "--host", default="127.0.0.1", help="Address to listen on (default 127.0.0.1)."
    )
    parser.add_argument(
        "--port", type=int, default=8000, help="TCP port to listen on (default 8000)."
    )
    parser.add_argument(
        "--db",
        type=Path,
        help="SQLite database file (default: a file in a new temporary directory).",
    )
    parser.add_argument(
        "--faults-file",
        type=Path,
        help="TOML or JSON fault-injection config; overrides AGENT_CHAT_FAULTS_FILE.",
    )
    parser.add_argument(
        "--ssl-certfile",
        type=Path,
        help="PEM certificate chain to serve HTTPS with; requires --ssl-keyfile.",
    )
    parser.add_argument("--ssl-keyfile", type=Path, help="PEM private key of --ssl-certfile.")
    parser.add_argument(
        "--log-level", default="info", choices=LOG_LEVELS, help="Minimum level of logged records."
    )
    parser.add_argument(
        "--access-log",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="Log one line per HTTP request and WebSocket (default on).",
    )
    parser.add_argument("--version", action="version", version=f"agent_chat {__version__}")
    return parser.parse_args(argv)


def bind_socket(host: str, port: int) -> socket.socket:
    """Bind the address for uvicorn to serve, so no other process can take it in between."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise ListenError(
                f"port {port} on {host} is already in use; choose another --port"
            ) from None
        raise ListenError(
            f"cannot listen on {host} port {port}: {exc.strerror}; check --host and --port"
        ) from None
    return sock


def main(argv: Sequence[str] | None = None) -> int:
    """Run the service until SIGINT or SIGTERM, and return the exit code.

    The exit code is 2 for invalid options or configuration.

    After a graceful shutdown on a signal, uvicorn raises that signal again, so the process ends
    with the signal's status (for example -15 for SIGTERM as seen by subprocess) instead of 0.
    """
    args = parse_args(argv)
    configure_logging(args.log_level)
    tls_problem = check_tls_files(args.ssl_certfile, args.ssl_keyfile)
    if tls_problem:
        return _fail(tls_problem)
    try:
        settings = load_settings(os.environ, db_path=args.db, faults_file=args.faults_file)
        sock = bind_socket(args.host, args.port)
    except (ConfigError, ListenError) as exc:
        return _fail(str(exc))
    try:
        app = create_app(settings)
    except ConfigError as exc:
        sock.close()
        return _fail(str(exc))
    serve(app, sock, settings, args)
    return 0


def check_tls_files(certfile: Path | None, keyfile: Path | None) -> str:
    """Return why the TLS options are unusable, or "" when they are absent or both readable."""
    if (certfile is None) != (keyfile is None):
        return "--ssl-certfile and --ssl-keyfile go together; give both or neither"
    for option, path in (("--ssl-certfile", certfile), ("--ssl-keyfile", keyfile)):
        if path is not None and not path.is_file():
            return f"{option} {path} not found; pass a PEM file"
    return ""


def serve(app: FastAPI, sock: socket.socket, settings: Settings, args: argparse.Namespace) -> None:
    """Serve the app on the bound socket until uvicorn receives a shutdown signal."""
    # Per-message deflate is off because it keeps a zlib context per connection and costs CPU on
    # every frame, which matters with thousands of WebSocket clients on a few cores.
    # The access log costs about 5% of the service's CPU under load (py-spy, 2,000 chat users), so
    # load tests turn it off with --no-access-log.
    config = uvicorn.Config(
        app,
        log_config=None,
        log_level=args.log_level,
        ws_per_message_deflate=False,
        ssl_certfile=args.ssl_certfile,
        ssl_keyfile=args.ssl_keyfile,
        access_log=args.access_log,
    )
    config.load()
    if config.ssl is not None:
        # uvicorn has no option for the minimum version, and RFC 8996 deprecates TLS 1.0 and 1.1.
        config.ssl.minimum_version = ssl.TLSVersion.TLSv1_2
    server = uvicorn.Server(config)
    logger.info(
        "starting agent_chat %s on %s://%s:%d (database %s, build %s)",
        __version__,
        "https" if config.ssl is not None else "http",
        args.host,
        args.port,
        settings.db_path,
        settings.build_id,
    )
    server.run(sockets=[sock])


def _fail(message: str) -> int:
    print(f"agent_chat: {message}", file=sys.stderr)
    return EXIT_USAGE
