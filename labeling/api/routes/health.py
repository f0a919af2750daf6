"""``GET /healthz``: the only route without a key, for load balancers and the CLI's discovery."""

from typing import Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel

from labeling.api.deps import service
from labeling.api.strict_json import StrictJSONRoute

router = APIRouter(tags=["service"], route_class=StrictJSONRoute)


class HealthOut(BaseModel):
    status: Literal["ok"]
    samples: int
    schema_version: int


@router.get("/healthz", response_model=HealthOut)
async def healthz(request: Request) -> HealthOut:
    """Answered on the event loop, without waiting for the store: while a write holds it, the counts
    are those of the last look (see ``SubmissionService.health``)."""
    samples, version = service(request).health()
    return HealthOut(status="ok", samples=samples, schema_version=version)
