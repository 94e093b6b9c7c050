"""Request and response bodies of the HTTP API, which also define the OpenAPI document."""

from typing import Annotated

from pydantic import AfterValidator, BaseModel, Field, StringConstraints

# The length and the pattern apply to the name as sent, so the OpenAPI document states exactly
# which names are accepted; trimming happens after validation. Python's regular expressions count
# \x1c-\x1f and \x85 as whitespace, JavaScript's and Rust's do not, so the class names them.
NON_BLANK = r"[^\s\x1c-\x1f\x85]"
RoomName = Annotated[
    str,
    StringConstraints(min_length=1, max_length=64, pattern=NON_BLANK),
    AfterValidator(str.strip),
]


class ErrorOut(BaseModel):
    detail: str = Field(description="What failed and what to do next.")


class HealthOut(BaseModel):
    status: str


class VersionOut(BaseModel):
    service: str
    version: str
    build: str


class ClientConfigOut(BaseModel):
    faults: list[str]


class LoginIn(BaseModel):
    username: str = Field(max_length=64)
    password: str = Field(max_length=1024)


class UserOut(BaseModel):
    id: int
    username: str
    display_name: str


class LoginOut(BaseModel):
    token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth 2 token type
    expires_in: int = Field(description="Token lifetime in seconds.")
    user: UserOut


class RoomIn(BaseModel):
    name: RoomName = Field(
        description="Room name of 1 to 64 characters with at least one that is not whitespace; "
        "surrounding whitespace is trimmed."
    )


class RoomOut(BaseModel):
    id: int
    name: str
    member: bool = Field(description="Whether the requesting user is a member.")
    created_at: str = Field(description="ISO 8601 time in UTC.")


class RoomListOut(BaseModel):
    rooms: list[RoomOut]


class MessageIn(BaseModel):
    body: str = Field(min_length=1, max_length=4000)
    client_msg_id: str = Field(
        min_length=1,
        max_length=64,
        description="Client-chosen id; a resend with the same id stores nothing new.",
    )


class MessageOut(BaseModel):
    id: int
    room_id: int
    author: UserOut
    body: str
    client_msg_id: str
    created_at: str = Field(description="ISO 8601 time in UTC.")


class MessagePageOut(BaseModel):
    messages: list[MessageOut] = Field(description="Oldest first.")
    next_cursor: str | None = Field(
        description="Pass as `before` to get older messages; null when none are left."
    )
