"""Regression tests for the places where the OpenAPI document and the service disagreed.

Each test pins one fix: a request the document allows is accepted, a response the service sends
is documented, or an input that crashed the service is rejected with a documented status.
"""

import base64
import itertools
import re
import string
from pathlib import Path
from typing import Any

import pytest
from agent_chat import cli
from agent_chat.cursors import CURSOR_PATTERN, MAX_MESSAGE_ID, decode_cursor, encode_cursor
from fastapi.testclient import TestClient
from unit_helpers import GENERAL_ROOM_ID, login_headers

TOO_LARGE_ID = 2**63
BASE64URL = string.ascii_letters + string.digits + "-_"


def openapi_operation(client: TestClient, method: str, path: str) -> dict[str, Any]:
    operation: dict[str, Any] = client.get("/openapi.json").json()["paths"][path][method]
    return operation


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", f"/api/rooms/{TOO_LARGE_ID}/messages"),
        ("post", f"/api/rooms/{TOO_LARGE_ID}/join"),
        ("post", f"/api/rooms/{-TOO_LARGE_ID}/messages"),
    ],
)
def test_room_id_beyond_sqlite_range_is_422(client: TestClient, method: str, path: str) -> None:
    headers = login_headers(client, "alice")
    body = {"body": "hi", "client_msg_id": "c1"}

    response = client.request(method, path, headers=headers, json=body)

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["path", "room_id"]


def test_room_id_range_is_documented(client: TestClient) -> None:
    operation = openapi_operation(client, "post", "/api/rooms/{room_id}/join")

    schema = operation["parameters"][0]["schema"]

    assert (schema["minimum"], schema["maximum"]) == (1, 2**63 - 1)


@pytest.mark.parametrize("template", ["/api/login", "/api/rooms", "/api/rooms/{room_id}/messages"])
def test_unparsable_body_is_documented_400(client: TestClient, template: str) -> None:
    headers = {**login_headers(client, "alice"), "Content-Type": "application/json"}
    path = template.format(room_id=GENERAL_ROOM_ID)

    response = client.post(path, headers=headers, content=b"\xff\xfe{")

    assert response.status_code == 400
    assert "400" in openapi_operation(client, "post", template)["responses"]


@pytest.mark.parametrize("name", ["\t", " \n ", "\x1c", "\x85"])
def test_blank_room_name_rejected(client: TestClient, name: str) -> None:
    headers = login_headers(client, "alice")

    response = client.post("/api/rooms", headers=headers, json={"name": name})

    assert response.status_code == 422


def test_room_name_pattern_is_documented(client: TestClient) -> None:
    schemas = client.get("/openapi.json").json()["components"]["schemas"]
    name = schemas["RoomIn"]["properties"]["name"]

    assert name["pattern"] == r"[^\s\x1c-\x1f\x85]"
    assert (name["minLength"], name["maxLength"]) == (1, 64)
    assert re.search(name["pattern"], "\t") is None


@pytest.mark.parametrize("message_id", [0, 7, 42, 999, 2**62, MAX_MESSAGE_ID])
def test_issued_cursor_matches_documented_pattern(message_id: int) -> None:
    assert re.fullmatch(CURSOR_PATTERN, encode_cursor(message_id))


def test_every_short_pattern_match_decodes() -> None:
    # All strings of "m:" and one or two digits, and every near miss, are four to seven
    # characters long and start with the block of "m:" and the first digit.
    first_blocks = [encode_cursor(digit)[:4] for digit in range(10)]
    matched = 0
    for first in first_blocks:
        for length in (1, 2, 3):
            for tail in itertools.product(BASE64URL, repeat=length):
                cursor = first + "".join(tail)
                if re.fullmatch(CURSOR_PATTERN, cursor):
                    decode_cursor(cursor)
                    matched += 1
    assert matched == 10 * (10 + 100)


def test_cursor_beyond_largest_id_is_capped(client: TestClient) -> None:
    cursor = base64.urlsafe_b64encode(b"m:" + b"9" * 21).decode().rstrip("=")

    response = client.get(
        f"/api/rooms/{GENERAL_ROOM_ID}/messages",
        headers=login_headers(client, "alice"),
        params={"before": cursor},
    )

    assert decode_cursor(cursor) == MAX_MESSAGE_ID
    assert response.status_code == 200


def test_cursor_pattern_is_documented(client: TestClient) -> None:
    operation = openapi_operation(client, "get", "/api/rooms/{room_id}/messages")

    before = next(p for p in operation["parameters"] if p["name"] == "before")

    assert CURSOR_PATTERN in str(before["schema"])


def test_method_not_allowed_lists_every_method(client: TestClient) -> None:
    response = client.request("OPTIONS", "/api/rooms")

    assert response.status_code == 405
    assert response.headers["allow"] == "GET, POST"


def test_method_not_allowed_keeps_detail(client: TestClient) -> None:
    response = client.delete("/api/me")

    assert response.json() == {"detail": "Method Not Allowed"}
    assert response.headers["allow"] == "GET"


def test_not_found_unchanged(client: TestClient) -> None:
    response = client.get("/api/nothing-here")

    assert response.status_code == 404
    assert "allow" not in response.headers


def test_hsts_only_over_https(make_client: Any) -> None:
    client = make_client()
    secure = TestClient(client.app, base_url="https://testserver")

    assert "strict-transport-security" not in client.get("/healthz").headers
    assert secure.get("/healthz").headers["strict-transport-security"] == "max-age=31536000"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--ssl-certfile", "cert.pem"], "--ssl-certfile and --ssl-keyfile go together"),
        (
            ["--ssl-certfile", "cert.pem", "--ssl-keyfile", "key.pem"],
            "--ssl-certfile cert.pem not found",
        ),
    ],
)
def test_tls_options_checked(
    options: list[str],
    message: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)

    code = cli.main([*options, "--db", str(tmp_path / "chat.db")])

    assert code == 2
    assert message in capsys.readouterr().err
