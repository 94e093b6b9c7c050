"""Message history and posting."""

from typing import Annotated

from fastapi import HTTPException, Query, Response, status
from fastapi.exceptions import RequestValidationError

from agent_chat.api.dependencies import CurrentUser, RoomId, ServicesDep, api_router
from agent_chat.api.responses import BAD_BODY, FORBIDDEN, NOT_FOUND, UNAUTHORIZED
from agent_chat.cursors import CURSOR_PATTERN
from agent_chat.errors import ClientMsgIdConflict, InvalidCursor, NotRoomMember, RoomNotFound
from agent_chat.schemas import ErrorOut, MessageIn, MessageOut, MessagePageOut

router = api_router("/api/rooms/{room_id}/messages", "messages")

BeforeCursor = Annotated[
    str | None,
    Query(
        max_length=64,
        pattern=CURSOR_PATTERN,
        description="next_cursor of the previous page; omit it for the newest messages.",
    ),
]


@router.get("", response_model=MessagePageOut, responses={**UNAUTHORIZED, **FORBIDDEN, **NOT_FOUND})
async def list_messages(
    room_id: RoomId,
    user: CurrentUser,
    services: ServicesDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    before: BeforeCursor = None,
) -> MessagePageOut:
    try:
        page = services.chat.list_messages(user, room_id, limit, before)
    except RoomNotFound as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None
    except NotRoomMember as exc:
        raise HTTPException(status.HTTP_403_FORBIDDEN, str(exc)) from None
    except InvalidCursor as exc:
        # Reported like any other invalid query parameter, so the 422 body matches the schema.
        error = {
            "type": "value_error",
            "loc": ("query", "before"),
            "msg": str(exc),
            "input": before,
        }
        raise RequestValidationError([error]) from None
    messages = [MessageOut(**message.to_json()) for message in page.messages]
    return MessagePageOut(messages=messages, next_cursor=page.next_cursor)


@router.post(
    "",
    response_model=MessageOut,
    status_code=status.HTTP_201_CREATED,
    responses={
        200: {
            "model": MessageOut,
            "description": "Resend of a known client_msg_id; nothing new was stored.",
        },
        **BAD_BODY,
        **UNAUTHORIZED,
        **FORBIDDEN,
        **NOT_FOUND,
        409: {
            "model": ErrorOut,
            "description": "The author used this client_msg_id in another room.",
        },
    },
)
async def post_message(
    room_id: RoomId,
    message: MessageIn,
    user: CurrentUser,
    services: ServicesDep,
    response: Response,
) -> MessageOut:
    try:
        stored, created = services.chat.post_message(
            user, room_id, message.body, message.client_msg_id
        )
    except RoomNotFound as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None
    except NotRoomMember as exc:
        raise HTTPException(status.HTTP_403_FORBIDDEN, str(exc)) from None
    except ClientMsgIdConflict as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    if not created:
        response.status_code = status.HTTP_200_OK
    return MessageOut(**stored.to_json())
