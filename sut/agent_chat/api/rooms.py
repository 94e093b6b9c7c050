"""Room listing, creation and joining."""

from fastapi import HTTPException, status

from agent_chat.api.dependencies import CurrentUser, RoomId, ServicesDep, api_router
from agent_chat.api.responses import BAD_BODY, NOT_FOUND, UNAUTHORIZED
from agent_chat.errors import NotRoomCreator, RoomNameTaken, RoomNotFound
from agent_chat.schemas import ErrorOut, RoomIn, RoomListOut, RoomOut

router = api_router("/api/rooms", "rooms")


@router.get("", response_model=RoomListOut, responses=UNAUTHORIZED)
async def list_rooms(user: CurrentUser, services: ServicesDep) -> RoomListOut:
    rooms = services.chat.list_rooms(user)
    return RoomListOut(rooms=[RoomOut(**room.to_json()) for room in rooms])


@router.post(
    "",
    response_model=RoomOut,
    status_code=status.HTTP_201_CREATED,
    responses={
        **BAD_BODY,
        **UNAUTHORIZED,
        409: {"model": ErrorOut, "description": "A room with this name exists."},
    },
)
async def create_room(room: RoomIn, user: CurrentUser, services: ServicesDep) -> RoomOut:
    try:
        created = services.chat.create_room(user, room.name)
    except RoomNameTaken as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    return RoomOut(**created.to_json())


@router.post("/{room_id}/join", response_model=RoomOut, responses={**UNAUTHORIZED, **NOT_FOUND})
async def join_room(room_id: RoomId, user: CurrentUser, services: ServicesDep) -> RoomOut:
    try:
        room = services.chat.join_room(user, room_id)
    except RoomNotFound as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None
    return RoomOut(**room.to_json())


@router.delete(
    "/{room_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={
        **UNAUTHORIZED,
        **NOT_FOUND,
        403: {"model": ErrorOut, "description": "Only the room's creator may delete it."},
    },
)
async def delete_room(room_id: RoomId, user: CurrentUser, services: ServicesDep) -> None:
    try:
        services.chat.delete_room(user, room_id)
    except RoomNotFound as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None
    except NotRoomCreator as exc:
        raise HTTPException(status.HTTP_403_FORBIDDEN, str(exc)) from None
