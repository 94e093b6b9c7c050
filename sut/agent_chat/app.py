"""The FastAPI application factory."""

import logging
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.exception_handlers import http_exception_handler
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match, Mount
from starlette.types import Scope

from agent_chat import __version__
from agent_chat.api import API_ROUTERS, system, websocket
from agent_chat.config import Settings
from agent_chat.faults import validate_route_keys
from agent_chat.middleware import InternalErrorMiddleware, SecurityHeadersMiddleware
from agent_chat.services import Services, build_services

logger = logging.getLogger(__name__)

HTTP_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def create_app(settings: Settings) -> FastAPI:
    """Build the application and open and seed its database.

    The database closes, and injected fault counts are logged, when the application's lifespan ends.
    Raises ConfigError when a fault route key matches no /api route.
    """
    # Swagger UI and ReDoc load scripts from a CDN, which the Content-Security-Policy blocks,
    # so only /openapi.json is served.
    app = FastAPI(
        title="Agent Chat", version=__version__, docs_url=None, redoc_url=None, lifespan=_lifespan
    )
    app.include_router(system.router)
    for router in API_ROUTERS:
        app.include_router(router)
    app.include_router(websocket.router)
    app.mount("/static", StaticFiles(directory=system.STATIC_DIR), name="static")
    validate_route_keys(settings.faults, _api_route_keys())
    app.add_exception_handler(HTTPException, _http_error)
    app.add_middleware(InternalErrorMiddleware)
    app.add_middleware(SecurityHeadersMiddleware)
    app.state.services = build_services(settings)
    return app


def _api_route_keys() -> Iterator[str]:
    for router in API_ROUTERS:
        for route in router.routes:
            if isinstance(route, APIRoute):
                for method in sorted(route.methods or ()):
                    yield f"{method} {route.path}"


async def _http_error(request: Request, exc: Exception) -> Response:
    """Build the response to an HTTP error as FastAPI does, but with every method in a 405's Allow.

    Starlette's 405 names only the methods of the first route whose path matches, so for a path
    served by two routes (GET and POST /api/rooms) it would hide one of them.
    """
    if not isinstance(exc, HTTPException):
        raise exc
    if exc.status_code == 405:
        allow = ", ".join(sorted(_methods_of_path(request.app, request.scope)))
        exc = HTTPException(405, exc.detail, headers={**(exc.headers or {}), "Allow": allow})
    return await http_exception_handler(request, exc)


def _methods_of_path(app: FastAPI, scope: Scope) -> set[str]:
    # Mounts are skipped because they match every method; the static files return their own 405.
    routes = [route for route in app.router.routes if not isinstance(route, Mount)]
    methods = set()
    for method in HTTP_METHODS:
        probe = {**scope, "method": method}
        if any(route.matches(probe)[0] is Match.FULL for route in routes):
            methods.add(method)
    return methods


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    yield
    services: Services = app.state.services
    services.close()
    logger.info("agent_chat stopped; database %s closed", services.settings.db_path)
