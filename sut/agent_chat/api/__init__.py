"""HTTP and WebSocket routes of the service."""

from fastapi import APIRouter

from agent_chat.api import login, messages, rooms

# Routers of the /api HTTP routes, which fault injection applies to.
API_ROUTERS: tuple[APIRouter, ...] = (login.router, rooms.router, messages.router)
