"""TLS checks of an HTTPS deployment: a valid chain, days to expiry, and no protocol below 1.2."""

from __future__ import annotations

import socket
import ssl
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from harness.security.dast import ProbeResult

__all__ = ["TlsReport", "check_tls"]

CONNECT_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class TlsReport:
    """The TLS checks' results and the certificate's remaining validity in whole days."""

    results: list[ProbeResult]
    days_to_expiry: int | None


def check_tls(base_url: str, ca_file: str | None) -> TlsReport:
    """Handshake with verification, then try TLS 1.1 at most, which the server must reject."""
    parts = urlsplit(base_url)
    host, port = parts.hostname or "", parts.port or 443
    subject = f"{host}:{port}"
    try:
        certificate, version = verified_handshake(host, port, ca_file)
    except (ssl.SSLError, OSError) as error:
        result = ProbeResult("tls", subject, False, "high", f"verified handshake failed: {error}")
        return TlsReport([result], None)

    expires_at = ssl.cert_time_to_seconds(str(certificate["notAfter"]))
    days = int((expires_at - time.time()) // 86400)
    modern = version in {"TLSv1.2", "TLSv1.3"}
    results = [
        ProbeResult("tls", subject, True, "high", "certificate chain and host name verified"),
        ProbeResult("tls", f"{subject} version", modern, "high", f"negotiated {version}"),
        legacy_protocol_result(host, port, subject),
    ]
    return TlsReport(results, days)


def verified_handshake(host: str, port: int, ca_file: str | None) -> tuple[dict[str, object], str]:
    context = ssl.create_default_context(cafile=ca_file)
    with (
        socket.create_connection((host, port), timeout=CONNECT_TIMEOUT_S) as raw,
        context.wrap_socket(raw, server_hostname=host) as tls,
    ):
        return dict(tls.getpeercert() or {}), str(tls.version())


def legacy_protocol_result(host: str, port: int, subject: str) -> ProbeResult:
    """Offer only TLS 1.0 and 1.1; a completed handshake means the server still allows them.

    NOTE: when the local OpenSSL cannot offer TLS 1.1 at all, the handshake fails on this side
    and the check passes without having tested the server.
    """
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    context.set_ciphers("DEFAULT:@SECLEVEL=0")
    context.minimum_version = ssl.TLSVersion.TLSv1
    context.maximum_version = ssl.TLSVersion.TLSv1_1
    try:
        with (
            socket.create_connection((host, port), timeout=CONNECT_TIMEOUT_S) as raw,
            context.wrap_socket(raw, server_hostname=host) as tls,
        ):
            version = tls.version()
    except (ssl.SSLError, OSError):
        return ProbeResult("tls", f"{subject} legacy", True, "high", "TLS 1.1 and older rejected")
    return ProbeResult("tls", f"{subject} legacy", False, "high", f"server accepted {version}")
