"""Error responses declared in the OpenAPI document, so it lists what each operation returns."""

from typing import Any

from agent_chat.schemas import ErrorOut

Responses = dict[int | str, dict[str, Any]]


def _error(description: str) -> dict[str, Any]:
    return {"model": ErrorOut, "description": description}


# Starlette returns 400 before validation when a body is not UTF-8 or its parser fails.
BAD_BODY: Responses = {400: _error("The request body cannot be parsed, for example invalid UTF-8.")}
UNAUTHORIZED: Responses = {401: _error("Missing, malformed, tampered or expired bearer token.")}
FORBIDDEN: Responses = {403: _error("The user is not a member of the room.")}
NOT_FOUND: Responses = {404: _error("The room does not exist.")}
TOO_MANY_LOGINS: Responses = {
    429: {
        **_error("Too many failed logins for this username from this client; retry later."),
        "headers": {
            "Retry-After": {
                "description": "Seconds until the next login attempt is accepted.",
                "schema": {"type": "integer"},
            }
        },
    }
}
INJECTED_FAULT: Responses = {
    503: _error("Injected fault. Returned only when fault injection is configured.")
}
