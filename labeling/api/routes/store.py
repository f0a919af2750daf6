"""The store itself while the service holds it: a consistent backup (admins) and an integrity check
(curators). ``triforge store backup`` and ``triforge store verify`` send these when the service
holds the store, so neither needs it stopped."""

import shutil
import tempfile
import zipfile
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse
from starlette.background import BackgroundTask

from curation.backup import BACKUP_FILE, MANIFEST
from curation.integrity import StoreCheck
from labeling.api.deps import Admin, Curator, service
from labeling.api.errors import AUTHENTICATED, responses
from labeling.api.strict_json import StrictJSONRoute

router = APIRouter(tags=["store"], route_class=StrictJSONRoute)

ARCHIVE_TYPE = "application/zip"


def _archive(request: Request) -> Path:
    """Back up into a private temporary folder (the lock is held only for the copy) and zip it."""
    work = Path(tempfile.mkdtemp(prefix="triforge-backup-"))
    try:
        manifest = service(request).backup(work / "backup")
        archive = work / "backup.zip"
        with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zipped:
            zipped.write(work / "backup" / manifest.file, BACKUP_FILE)
            zipped.write(work / "backup" / MANIFEST, MANIFEST)
        return archive
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise


@router.post(
    "/v1/backups",
    response_class=Response,
    summary="A consistent backup of the store, as a zip of the DuckDB file and its manifest",
    responses={
        200: {
            "content": {ARCHIVE_TYPE: {"schema": {"type": "string", "format": "binary"}}},
            "description": f"{BACKUP_FILE} (every table, taken between two requests) and {MANIFEST} (its "
            "SHA-256 and row counts); `triforge store restore` reads the unpacked folder",
        },
        **responses(*AUTHENTICATED),
    },
)
async def backup(request: Request, _: Admin) -> FileResponse:
    archive = await run_in_threadpool(_archive, request)
    return FileResponse(
        archive,
        media_type=ARCHIVE_TYPE,
        filename="triforge-backup.zip",
        background=BackgroundTask(shutil.rmtree, archive.parent, ignore_errors=True),
    )


@router.get(
    "/v1/verification",
    response_model=StoreCheck,
    summary="Re-hash every snapshot and every revision; `ok` is false when anything changed",
    responses=responses(*AUTHENTICATED),
)
def verification(request: Request, _: Curator) -> Any:
    return service(request).verify()
