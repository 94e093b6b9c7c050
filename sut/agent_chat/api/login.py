"""Login and the current user."""

import logging

from fastapi import HTTPException, Request, status

from agent_chat.api.dependencies import CurrentUser, ServicesDep, api_router
from agent_chat.api.responses import BAD_BODY, TOO_MANY_LOGINS, UNAUTHORIZED
from agent_chat.errors import InvalidCredentials
from agent_chat.schemas import LoginIn, LoginOut, UserOut

logger = logging.getLogger(__name__)

router = api_router("/api", "auth")


@router.post(
    "/login",
    response_model=LoginOut,
    responses={
        **BAD_BODY,
        401: {**UNAUTHORIZED[401], "description": "Unknown user or wrong password."},
        **TOO_MANY_LOGINS,
    },
)
async def login(credentials: LoginIn, services: ServicesDep, request: Request) -> LoginOut:
    client = request.client.host if request.client else ""
    key = (credentials.username, client)
    limiter = services.login_limiter
    retry_after_s = limiter.retry_after_s(key)
    if retry_after_s:
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            f"too many failed logins; retry in {retry_after_s} s",
            headers={"Retry-After": str(retry_after_s)},
        )
    try:
        user = await services.accounts.login(credentials.username, credentials.password)
    except InvalidCredentials as exc:
        limiter.record_failure(key)
        if limiter.retry_after_s(key):
            logger.warning(
                "login of %r from %s locked after %d failures",
                credentials.username,
                client,
                limiter.max_failures,
            )
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, str(exc)) from None
    limiter.reset(key)
    return LoginOut(
        token=services.accounts.issue_token(user),
        expires_in=services.settings.token_ttl_s,
        user=UserOut(**user.to_json()),
    )


@router.get("/me", response_model=UserOut, responses=UNAUTHORIZED)
async def me(user: CurrentUser) -> UserOut:
    return UserOut(**user.to_json())
