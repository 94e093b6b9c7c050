"""Health, version, the web client, security headers, JSON errors and the OpenAPI document."""

from typing import Any

import pytest
from agent_chat import __version__
from agent_chat.middleware import SECURITY_HEADERS
from fastapi.testclient import TestClient
from unit_helpers import ClientFactory, login_headers

EXPECTED_HEADERS = {
    "content-security-policy": "default-src 'self'; connect-src 'self' ws: wss:",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
}


def test_healthz(client: TestClient) -> None:
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_version_reports_build(make_client: ClientFactory) -> None:
    response = make_client(build_id="build-42").get("/version")

    assert response.json() == {"service": "agent-chat", "version": __version__, "build": "build-42"}


def test_version_is_0_1_0() -> None:
    assert __version__ == "0.1.0"


def test_index_has_test_ids(client: TestClient) -> None:
    response = client.get("/")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    for test_id in (
        "login-username",
        "login-password",
        "login-submit",
        "room-list",
        "message-list",
        "send-input",
    ):
        assert f'data-testid="{test_id}"' in response.text


def test_index_answers_head(client: TestClient) -> None:
    response = client.head("/")

    assert response.status_code == 200
    assert response.content == b""


def test_client_script_sets_item_test_ids(client: TestClient) -> None:
    response = client.get("/static/app.js")

    assert response.status_code == 200
    assert 'item.dataset.testid = "room-item"' in response.text
    assert 'item.dataset.testid = "message-item"' in response.text


def test_client_has_no_inline_script(client: TestClient) -> None:
    # The CSP forbids inline scripts, so the page must load its script from a file.
    assert '<script src="/static/app.js"' in client.get("/").text
    assert "<script>" not in client.get("/").text


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/healthz"),
        ("GET", "/"),
        ("GET", "/static/app.css"),
        ("GET", "/nope"),
        ("GET", "/api/me"),
    ],
)
def test_security_headers_on_responses(client: TestClient, method: str, path: str) -> None:
    response = client.request(method, path)

    for name, value in EXPECTED_HEADERS.items():
        assert response.headers[name] == value


def test_security_headers_constant_matches() -> None:
    assert {name.decode(): value.decode() for name, value in SECURITY_HEADERS} == EXPECTED_HEADERS


def test_unhandled_error_is_json_500(client: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    def fail() -> None:
        raise RuntimeError("boom")

    client.app.add_api_route("/fail", fail)  # type: ignore[attr-defined]

    response = client.get("/fail")

    assert response.status_code == 500
    assert response.json() == {"detail": "internal server error"}
    assert "boom" not in response.text
    assert response.headers["x-frame-options"] == "DENY"
    assert "unhandled error in GET /fail" in caplog.text


def test_error_after_response_start_is_raised(client: TestClient) -> None:
    from starlette.responses import StreamingResponse

    def broken_stream() -> Any:
        yield b"partial"
        raise RuntimeError("stream failed")

    client.app.add_api_route("/stream", lambda: StreamingResponse(broken_stream()))  # type: ignore[attr-defined]

    with pytest.raises(RuntimeError, match="stream failed"):
        client.get("/stream")


def test_docs_ui_disabled(client: TestClient) -> None:
    assert client.get("/docs").status_code == 404


@pytest.fixture
def openapi(client: TestClient) -> dict[str, Any]:
    response = client.get("/openapi.json")
    assert response.status_code == 200
    document: dict[str, Any] = response.json()
    return document


def responses_of(openapi: dict[str, Any], method: str, path: str) -> set[str]:
    return set(openapi["paths"][path][method]["responses"])


def test_openapi_declares_bearer_scheme(openapi: dict[str, Any]) -> None:
    assert openapi["components"]["securitySchemes"]["HTTPBearer"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "Token returned by POST /api/login.",
    }
    assert openapi["paths"]["/api/me"]["get"]["security"] == [{"HTTPBearer": []}]
    assert "security" not in openapi["paths"]["/api/login"]["post"]
    assert "security" not in openapi["paths"]["/healthz"]["get"]


@pytest.mark.parametrize(
    ("method", "path", "expected"),
    [
        ("get", "/healthz", {"200"}),
        ("get", "/version", {"200"}),
        ("post", "/api/login", {"200", "400", "401", "422", "429", "503"}),
        ("get", "/api/me", {"200", "401", "503"}),
        ("get", "/api/rooms", {"200", "401", "503"}),
        ("post", "/api/rooms", {"201", "400", "401", "409", "422", "503"}),
        ("post", "/api/rooms/{room_id}/join", {"200", "401", "404", "422", "503"}),
        ("get", "/api/rooms/{room_id}/messages", {"200", "401", "403", "404", "422", "503"}),
        (
            "post",
            "/api/rooms/{room_id}/messages",
            {"200", "201", "400", "401", "403", "404", "409", "422", "503"},
        ),
    ],
)
def test_openapi_declares_responses(
    openapi: dict[str, Any], method: str, path: str, expected: set[str]
) -> None:
    assert responses_of(openapi, method, path) == expected


def test_openapi_response_models(openapi: dict[str, Any]) -> None:
    post = openapi["paths"]["/api/rooms/{room_id}/messages"]["post"]["responses"]

    assert post["201"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/MessageOut"
    }
    assert post["404"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ErrorOut"
    }
    assert set(openapi["components"]["schemas"]["MessageOut"]["properties"]) == {
        "id",
        "room_id",
        "author",
        "body",
        "client_msg_id",
        "created_at",
    }


def test_openapi_excludes_index(openapi: dict[str, Any]) -> None:
    assert "/" not in openapi["paths"]


def test_openapi_status_codes_are_real(client: TestClient) -> None:
    headers = login_headers(client, "alice")

    assert client.post("/api/rooms", headers=headers, json={"name": "general"}).status_code == 409
    assert client.post("/api/rooms/5/join", headers=headers).status_code == 404
