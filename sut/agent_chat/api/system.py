"""Health, version and the web client's page. These routes are never faulted or authenticated."""

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse

from agent_chat import __version__
from agent_chat.api.dependencies import ServicesDep
from agent_chat.schemas import HealthOut, VersionOut

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
