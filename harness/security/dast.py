"""Dynamic checks of a running deployment: token rejection, error leaks, headers, login limits.

Every request goes to the deployment's base URL, and the number of requests is bounded: one per
protected operation and token kind, a few error probes, one page, and at most
`max_login_attempts` logins.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass

import httpx

__all__ = ["DastTarget", "ProbeResult", "run_dast"]

PROTECTED_STATUS = 401
TOO_MANY_REQUESTS = 429
SAFE_METHODS = {"get", "head", "options"}
LEAK_PATTERNS = {
    "stack trace": re.compile(r"Traceback \(most recent call last\)|File \"[^\"]+\", line \d+"),
    "SQL": re.compile(r"(?is)\b(select|insert|update|delete)\b.{1,80}\b(from|into|set|where)\b"),
    "database error": re.compile(r"sqlite3?\.|OperationalError|IntegrityError|psycopg"),
}
# Agent Chat's token layout, v1.<user id>.<expiry>.<HMAC-SHA256 signature>, which the expired
# and tampered tokens imitate; any other layout gets generic malformed tokens instead.
TOKEN_LAYOUT = re.compile(r"^v1\.(\d+)\.(\d+)\.[A-Za-z0-9_-]+$")


@dataclass(frozen=True)
class ProbeResult:
    """One check against the deployment; `passed` None means it could not be run."""

    check: str
    subject: str
    passed: bool | None
    severity: str
    detail: str


@dataclass(frozen=True)
class DastTarget:
    """Inputs of the probes: a deployment client, one login, the OpenAPI document and limits."""

    client: httpx.Client
    openapi: dict[str, object]
    login_path: str
    username: str
    password: str
    token_secret: str
    web_client_path: str
    max_login_attempts: int
    allow_writes: bool
    secrets: tuple[str, ...]


def run_dast(target: DastTarget, probe_username: str) -> list[ProbeResult]:
    """Run every DAST check; an unreachable deployment raises httpx.HTTPError."""
    token = log_in(target)
    results = token_checks(target, token)
    results += leak_checks(target, collect_error_responses(target))
    results += header_checks(target)
    results.append(rate_limit_check(target, probe_username))
    return results


def log_in(target: DastTarget) -> str:
    body = {"username": target.username, "password": target.password}
    response = target.client.post(target.login_path, json=body)
    response.raise_for_status()
    return str(response.json()["token"])


def protected_operations(target: DastTarget) -> list[tuple[str, str]]:
    """List (method, path) of operations that declare a security requirement."""
    operations: list[tuple[str, str]] = []
    paths = target.openapi.get("paths", {})
    if not isinstance(paths, dict):
        return operations
    for path, item in paths.items():
        for method, operation in item.items():
            writes = method not in SAFE_METHODS
            if (
                isinstance(operation, dict)
                and operation.get("security")
                and (target.allow_writes or not writes)
            ):
                operations.append((method.upper(), re.sub(r"\{[^}]+\}", "1", path)))
    return operations


def bad_tokens(token: str, secret: str) -> dict[str, str | None]:
    """Return the token variants to send: None stands for no Authorization header."""
    tokens: dict[str, str | None] = {"missing": None, "malformed": "not-a-token"}
    match = TOKEN_LAYOUT.match(token)
    if match is None:
        tokens["tampered"] = token[:-1] + ("A" if token[-1] != "A" else "B")
        return tokens
    user_id = int(match.group(1))
    signature = token.rsplit(".", 1)[1]
    tokens["tampered"] = f"v1.{user_id + 1}.{match.group(2)}.{signature}"
    if secret:
        tokens["expired"] = sign(f"v1.{user_id}.{int(time.time()) - 60}", secret)
    return tokens


def sign(payload: str, secret: str) -> str:
    digest = hmac.new(secret.encode(), payload.encode(), hashlib.sha256).digest()
    return f"{payload}.{base64.urlsafe_b64encode(digest).decode().rstrip('=')}"


def token_checks(target: DastTarget, token: str) -> list[ProbeResult]:
    tokens = bad_tokens(token, target.token_secret)
    results = []
    for method, path in protected_operations(target):
        for kind, value in tokens.items():
            headers = {} if value is None else {"Authorization": f"Bearer {value}"}
            response = target.client.request(method, path, headers=headers, json={})
            passed = response.status_code == PROTECTED_STATUS
            detail = f"{kind} token: HTTP {response.status_code}, expected {PROTECTED_STATUS}"
            results.append(ProbeResult("auth", f"{method} {path}", passed, "high", detail))
    if "expired" not in tokens:
        detail = "not verified: set target.token_secret_env so the suite can sign an expired token"
        results.append(ProbeResult("auth", "expired token", None, "medium", detail))
    return results


def collect_error_responses(target: DastTarget) -> list[httpx.Response]:
    """Provoke error responses: invalid JSON, an invalid body encoding, a bad id, no route."""
    client = target.client
    json_header = {"Content-Type": "application/json"}
    responses = [
        client.post(target.login_path, content=b'{"username": ', headers=json_header),
        client.post(target.login_path, content=b"\xff\xfe{", headers=json_header),
        client.post(target.login_path, json={"username": ["x"], "password": 1}),
        client.get("/no-such-page-for-dast"),
    ]
    paths = target.openapi.get("paths", {})
    templated = [path for path in paths if "{" in path] if isinstance(paths, dict) else []
    if templated:
        path = re.sub(r"\{[^}]+\}", "not-a-number", templated[0])
        responses.append(client.get(path, headers={"Authorization": "Bearer x"}))
    return responses


def leak_checks(target: DastTarget, responses: Iterable[httpx.Response]) -> list[ProbeResult]:
    results = []
    for response in responses:
        subject = f"{response.request.method} {response.request.url.path}"
        leaks = leaks_in(response.text, target.secrets)
        detail = f"HTTP {response.status_code}: " + (", ".join(leaks) or "no leak")
        results.append(ProbeResult("error leak", subject, not leaks, "high", detail))
    return results


def leaks_in(text: str, secrets: Iterable[str]) -> list[str]:
    found = [name for name, pattern in LEAK_PATTERNS.items() if pattern.search(text)]
    if any(secret and secret in text for secret in secrets):
        found.append("a secret value")
    return found


def header_checks(target: DastTarget) -> list[ProbeResult]:
    response = target.client.get(target.web_client_path)
    headers = response.headers
    https = response.url.scheme == "https"
    csp = headers.get("content-security-policy", "")
    expected = {
        "Content-Security-Policy": bool(csp),
        "X-Content-Type-Options: nosniff": headers.get("x-content-type-options") == "nosniff",
        "Referrer-Policy": bool(headers.get("referrer-policy")),
        "frame protection": headers.get("x-frame-options", "").upper() in {"DENY", "SAMEORIGIN"}
        or "frame-ancestors" in csp,
    }
    if https:
        expected["Strict-Transport-Security"] = "max-age" in headers.get(
            "strict-transport-security", ""
        )
    subject = f"GET {target.web_client_path}"
    return [
        ProbeResult("header", f"{subject} {name}", present, "medium", f"{name} present: {present}")
        for name, present in expected.items()
    ]


def rate_limit_check(target: DastTarget, probe_username: str) -> ProbeResult:
    """Send failed logins for an account that does not exist until one is rejected with 429."""
    body = {"username": probe_username, "password": "wrong-password-for-dast"}
    for attempt in range(1, target.max_login_attempts + 1):
        status = target.client.post(target.login_path, json=body).status_code
        if status == TOO_MANY_REQUESTS:
            detail = f"HTTP 429 after {attempt} failed logins"
            return ProbeResult("rate limit", f"POST {target.login_path}", True, "high", detail)
    detail = f"no HTTP 429 within {target.max_login_attempts} failed logins"
    return ProbeResult("rate limit", f"POST {target.login_path}", False, "high", detail)
