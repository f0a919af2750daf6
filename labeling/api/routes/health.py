"""``GET /healthz``: the only route without a key, for load balancers and the CLI's discovery."""

from typing import Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel

from labeling.api.deps import service

router = APIRouter(tags=["service"])


class HealthOut(BaseModel):
    status: Literal["ok"]
    samples: int
    schema_version: int


@router.get("/healthz", response_model=HealthOut)
def healthz(request: Request) -> HealthOut:
    svc = service(request)
    with svc.lock:  # one DuckDB connection is shared by the request threads: every use holds the lock
        samples = svc.workspace.samples.total()
        version = svc.workspace.store.schema_version
    return HealthOut(status="ok", samples=samples, schema_version=version)
