"""Health, version and the web client's files. These routes are never faulted or authenticated."""

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse

from agent_chat import __version__
from agent_chat.api.dependencies import ServicesDep
from agent_chat.schemas import ClientConfigOut, HealthOut, VersionOut

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"

router = APIRouter()


@router.get("/healthz", response_model=HealthOut, tags=["system"])
async def healthz() -> HealthOut:
    return HealthOut(status="ok")


@router.get("/version", response_model=VersionOut, tags=["system"])
async def version(services: ServicesDep) -> VersionOut:
    return VersionOut(service="agent-chat", version=__version__, build=services.settings.build_id)


@router.api_route("/", methods=["GET", "HEAD"], include_in_schema=False)
async def index() -> FileResponse:
    return FileResponse(STATIC_DIR / "index.html", media_type="text/html")


@router.get("/sw.js", include_in_schema=False)
async def service_worker() -> FileResponse:
    # Served from the root, because a service worker controls only pages under its own path.
    # no-cache makes the browser check for a new worker on every visit.
    return FileResponse(
        STATIC_DIR / "sw.js",
        media_type="text/javascript",
        headers={"Cache-Control": "no-cache"},
    )


@router.get("/manifest.webmanifest", include_in_schema=False)
async def manifest() -> FileResponse:
    return FileResponse(STATIC_DIR / "manifest.webmanifest", media_type="application/manifest+json")


@router.get("/client-config", response_model=ClientConfigOut, tags=["system"])
async def client_config(services: ServicesDep) -> ClientConfigOut:
    """Return the settings the web client reads at startup: the client faults to apply."""
    return ClientConfigOut(faults=list(services.faults.client_faults))
