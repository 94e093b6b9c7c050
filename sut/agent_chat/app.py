"""The FastAPI application factory."""

import logging
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles

from agent_chat import __version__
from agent_chat.api import API_ROUTERS, system, websocket
from agent_chat.config import Settings
from agent_chat.faults import validate_route_keys
from agent_chat.middleware import InternalErrorMiddleware, SecurityHeadersMiddleware
from agent_chat.services import Services, build_services

logger = logging.getLogger(__name__)


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


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    yield
    services: Services = app.state.services
    services.close()
    logger.info("agent_chat stopped; database %s closed", services.settings.db_path)
