"""Error responses declared in the OpenAPI document, so it lists what each operation returns."""

from typing import Any

from agent_chat.schemas import ErrorOut

Responses = dict[int | str, dict[str, Any]]


def _error(description: str) -> dict[str, Any]:
    return {"model": ErrorOut, "description": description}


UNAUTHORIZED: Responses = {401: _error("Missing, malformed, tampered or expired bearer token.")}
FORBIDDEN: Responses = {403: _error("The user is not a member of the room.")}
NOT_FOUND: Responses = {404: _error("The room does not exist.")}
INJECTED_FAULT: Responses = {
    503: _error("Injected fault. Returned only when fault injection is configured.")
}
