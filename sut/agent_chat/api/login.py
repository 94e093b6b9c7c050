"""Login and the current user."""

from fastapi import HTTPException, status

from agent_chat.api.dependencies import CurrentUser, ServicesDep, api_router
from agent_chat.api.responses import UNAUTHORIZED
from agent_chat.errors import InvalidCredentials
from agent_chat.schemas import LoginIn, LoginOut, UserOut

router = api_router("/api", "auth")


@router.post(
    "/login",
    response_model=LoginOut,
    responses={401: {**UNAUTHORIZED[401], "description": "Unknown user or wrong password."}},
)
async def login(credentials: LoginIn, services: ServicesDep) -> LoginOut:
    try:
        user = await services.accounts.login(credentials.username, credentials.password)
    except InvalidCredentials as exc:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, str(exc)) from None
    return LoginOut(
        token=services.accounts.issue_token(user),
        expires_in=services.settings.token_ttl_s,
        user=UserOut(**user.to_json()),
    )


@router.get("/me", response_model=UserOut, responses=UNAUTHORIZED)
async def me(user: CurrentUser) -> UserOut:
    return UserOut(**user.to_json())
