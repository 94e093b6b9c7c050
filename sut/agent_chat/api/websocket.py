"""The WebSocket that pushes new messages of the user's rooms."""

import logging

from fastapi import APIRouter, WebSocket

from agent_chat.api.dependencies import get_services
from agent_chat.realtime import Connection, encode_event
from agent_chat.tokens import InvalidToken

logger = logging.getLogger(__name__)

CLOSE_UNAUTHORIZED = 4401

router = APIRouter()


@router.websocket("/api/ws")
async def websocket_events(websocket: WebSocket, token: str = "") -> None:
    """Send "ready", then every new message of the user's rooms, and reply "pong" to "ping".

    A bad token closes the socket with code 4401 after the handshake, because a rejected
    handshake reaches the client as HTTP 403 without the close code.
    """
    services = await get_services(websocket)
    await websocket.accept()
    try:
        user = services.accounts.user_for_token(token)
    except InvalidToken as exc:
        logger.info("rejected WebSocket from %s: %s", websocket.client, exc)
        await websocket.close(code=CLOSE_UNAUTHORIZED, reason=f"{exc}; log in again")
        return
    connection = Connection(websocket, user)
    connection.enqueue(encode_event({"type": "ready", "user": user.to_json()}))
    services.hub.register(connection, services.db.room_ids_for_user(user.id))
    try:
        await connection.serve()
    finally:
        services.hub.unregister(connection)
