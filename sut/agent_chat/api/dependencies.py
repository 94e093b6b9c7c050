"""FastAPI dependencies: the instance's services, the authenticated user, and fault injection."""

from typing import Annotated, cast

from fastapi import APIRouter, Depends, HTTPException, Path, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.requests import HTTPConnection

from agent_chat.api.responses import INJECTED_FAULT
from agent_chat.models import User
from agent_chat.services import Services
from agent_chat.tokens import InvalidToken

# Every dependency is async because FastAPI runs plain functions in a thread pool, which would add a
# thread switch to each request and share the accounts cache across threads.

bearer_scheme = HTTPBearer(auto_error=False, description="Token returned by POST /api/login.")
_CHALLENGE = {"WWW-Authenticate": "Bearer"}

# SQLite stores ids as signed 64-bit integers; a larger id in a path would overflow the query.
MAX_ID = 2**63 - 1
RoomId = Annotated[int, Path(ge=1, le=MAX_ID, description="Id of the room.")]


async def get_services(connection: HTTPConnection) -> Services:
    return cast(Services, connection.app.state.services)


ServicesDep = Annotated[Services, Depends(get_services)]


async def current_user(
    services: ServicesDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
) -> User:
    """Return the user of the request's bearer token, or raise HTTP 401."""
    if credentials is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "missing bearer token; log in with POST /api/login "
            "and send 'Authorization: Bearer <token>'",
            headers=_CHALLENGE,
        )
    try:
        return services.accounts.user_for_token(credentials.credentials)
    except InvalidToken as exc:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, f"{exc}; log in again", headers=_CHALLENGE
        ) from None


CurrentUser = Annotated[User, Depends(current_user)]


async def inject_faults(request: Request, services: ServicesDep) -> None:
    """Apply the configured latency, and raise HTTP 503 when the injector picks this request."""
    faults = services.faults
    if not faults.enabled:
        return
    route_key = f"{request.method} {request.scope['route'].path}"
    if await faults.inject(route_key):
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "injected fault")


def api_router(prefix: str, tag: str) -> APIRouter:
    """Return a router for /api routes under ``prefix`` that are subject to fault injection.

    The full path goes on the router itself rather than on include_router, so each route's path
    is the template that fault route keys name.
    """
    return APIRouter(
        prefix=prefix, tags=[tag], dependencies=[Depends(inject_faults)], responses=INJECTED_FAULT
    )
