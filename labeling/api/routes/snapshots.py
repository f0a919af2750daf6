"""Curators: freeze, list, show, compare and export snapshots. ``POST /v1/snapshots`` is what
``triforge snapshot create`` sends while the service holds the store."""

import io
import tempfile
import zipfile
from pathlib import Path as FilePath
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request, Response

from curation.export import export_snapshot
from curation.export.splits import SplitRatios
from labeling.api.curator_models import SnapshotDiffOut, SnapshotIn, SnapshotOut
from labeling.api.deps import Curator, service
from labeling.api.errors import AUTHENTICATED, WITH_BODY, responses
from labeling.api.patterns import SNAPSHOT_REF
from labeling.api.strict_json import StrictJSONRoute

router = APIRouter(tags=["snapshots"], route_class=StrictJSONRoute)

Ref = Annotated[str, Path(max_length=100, pattern=SNAPSHOT_REF, description="A snapshot name, id or id prefix")]
ExportFormat = Literal["chatml", "alpaca", "sharegpt", "mlx-chat", "mlx-completion", "parquet"]


@router.get("/v1/snapshots", response_model=list[SnapshotOut], responses=responses(*AUTHENTICATED))
def snapshots(request: Request, _: Curator) -> Any:
    svc = service(request)
    with svc.lock:
        return [s.model_dump() for s in svc.workspace.snapshots.list()]


@router.post(
    "/v1/snapshots",
    status_code=201,
    response_model=SnapshotOut,
    summary="Freeze the samples matching a filter",
    responses={
        201: {"headers": {"Location": {"description": "The snapshot's URL", "schema": {"type": "string"}}}},
        **responses(*AUTHENTICATED, 404, 409, *WITH_BODY),
    },
)
def create_snapshot(body: SnapshotIn, request: Request, response: Response, _: Curator) -> Any:
    svc = service(request)
    with svc.lock:
        snap = svc.workspace.snapshots.create(body.name, body.where, parent=body.parent)
    response.headers["Location"] = f"/v1/snapshots/{snap.id}"
    return snap.model_dump()


@router.get("/v1/snapshots/{ref}", response_model=SnapshotOut, responses=responses(*AUTHENTICATED, 404, 409))
def snapshot(ref: Ref, request: Request, _: Curator) -> Any:
    svc = service(request)
    with svc.lock:
        return svc.workspace.snapshots.resolve(ref).model_dump()


@router.get("/v1/snapshots/{a}/diff/{b}", response_model=SnapshotDiffOut, responses=responses(*AUTHENTICATED, 404, 409))
def diff(a: Ref, b: Ref, request: Request, _: Curator) -> Any:
    svc = service(request)
    with svc.lock:
        return svc.workspace.snapshots.diff(a, b).model_dump()


@router.get(
    "/v1/snapshots/{ref}/export",
    response_class=Response,
    summary="Export as a zip: the split files, manifest and dataset card",
    responses={
        200: {
            "content": {"application/zip": {"schema": {"type": "string", "format": "binary"}}},
            "description": "The export as a zip",
        },
        **responses(*AUTHENTICATED, 404, 409),
    },
)
def export(
    ref: Ref,
    request: Request,
    _: Curator,
    format: ExportFormat = "chatml",
    valid: Annotated[float, Query(ge=0, lt=0.5, description="Share of the valid split")] = 0.1,
    test: Annotated[float, Query(ge=0, lt=0.5, description="Share of the test split; train gets the rest")] = 0.1,
    seed: Annotated[int, Query(ge=0, le=2**31)] = 0,
) -> Response:
    # Two shares each under a half leave train a positive rest: every pair the schema admits is a split.

    ratios = SplitRatios(train=1.0 - valid - test, valid=valid, test=test)
    svc = service(request)
    with tempfile.TemporaryDirectory() as tmp, svc.lock:
        result = export_snapshot(svc.workspace, ref, format, FilePath(tmp), ratios=ratios, seed=seed)
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for file in sorted(FilePath(tmp).iterdir()):
                archive.write(file, file.name)
    name = f"{result.snapshot_id[:12]}-{format}.zip"
    return Response(
        buffer.getvalue(),
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
