"""Backups of the store: one consistent DuckDB file plus a manifest, and restoring one.

A backup is DuckDB's own ``COPY FROM DATABASE`` into a fresh file attached to the store's
connection: every table, sequence (at its current value), view and constraint, read in one
transaction, so it is consistent even while ``triforge serve`` runs - the service makes it under its
store lock, between two requests (``POST /v1/backups``). Copying the file's bytes instead is not
safe inside the service: POSIX record locks belong to the process, and closing *any* descriptor of
the file would drop the lock DuckDB holds on it.

The folder holds ``triforge.duckdb`` and ``manifest.json`` (written last, so a folder with a
manifest is a finished backup): format, time, schema version, the file's SHA-256 and size, and the
row count of every table. ``restore_backup`` checks the hash, refuses to replace a store that holds
anything unless forced, checks the copy opens (migrating an older one), and swaps it in.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from datetime import UTC, datetime
from pathlib import Path

from pydantic import BaseModel, ValidationError

from curation.paths import STORE_FILENAME
from curation.store import Store, StoreError, StoreLockedError
from curation.workspace import Workspace

FORMAT = "triforge-backup@1"
MANIFEST = "manifest.json"
BACKUP_FILE = STORE_FILENAME


class BackupManifest(BaseModel):
    format: str = FORMAT
    created_at: datetime
    schema_version: int
    file: str = BACKUP_FILE
    sha256: str
    bytes: int
    rows: dict[str, int]
    source: str

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def ensure_empty_folder(folder: Path) -> None:
    """A backup never lands on top of another: the folder must be new or empty."""
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise StoreError(f"{folder} is not an empty folder; back up into a new one")


def write_backup(workspace: Workspace, folder: Path) -> BackupManifest:
    """Copy the store into ``folder``. Consistent because nothing else writes through this connection
    meanwhile: the CLI holds the only one, the service calls this under its lock."""
    ensure_empty_folder(folder)
    folder.mkdir(parents=True, exist_ok=True)
    partial = folder / f".{BACKUP_FILE}.partial"
    partial.unlink(missing_ok=True)
    rows = workspace.store.copy_to(partial)
    final = folder / BACKUP_FILE
    os.replace(partial, final)
    manifest = BackupManifest(
        created_at=datetime.now(UTC),
        schema_version=workspace.store.schema_version,
        sha256=sha256_file(final),
        bytes=final.stat().st_size,
        rows=rows,
        source=str(workspace.paths.store),
    )
    tmp = folder / f".{MANIFEST}.partial"
    tmp.write_text(manifest.model_dump_json(indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, folder / MANIFEST)
    return manifest


def read_manifest(folder: Path) -> BackupManifest:
    path = folder / MANIFEST
    try:
        manifest = BackupManifest.model_validate_json(path.read_text(encoding="utf-8"))
    except OSError:
        raise StoreError(f"no backup in {folder}: {MANIFEST} is missing (an unfinished backup has none)") from None
    except ValidationError as exc:
        raise StoreError(f"{path} is not a Triforge backup manifest: {str(exc).splitlines()[0]}") from None
    if manifest.format != FORMAT:
        raise StoreError(f"{path} is a {manifest.format} backup; this Triforge reads {FORMAT}")
    return manifest


def check_backup(folder: Path) -> BackupManifest:
    """The manifest, once the file is confirmed to be the one it describes."""
    manifest = read_manifest(folder)
    data = folder / manifest.file
    if not data.is_file():
        raise StoreError(f"the backup in {folder} has no {manifest.file}")
    actual = sha256_file(data)
    if actual != manifest.sha256:
        raise StoreError(
            f"{data} does not match its manifest (sha256 {actual[:12]}, recorded {manifest.sha256[:12]}): "
            "it was changed or damaged after the backup"
        )
    return manifest


def _open_exclusively(path: Path) -> Store:
    try:
        return Store(path)
    except StoreLockedError as exc:
        raise StoreError(
            f"{exc} A restore replaces the file, so stop that process (e.g. triforge serve) first."
        ) from None


def restore_backup(folder: Path, target: Path, *, force: bool = False) -> BackupManifest:
    """Make ``target`` the store in the backup. Refuses a target holding any row unless ``force``.

    The dedup indexes beside the target (``indexes/``) describe whatever store was there before, so
    they are removed; ``triforge dedup run`` and the service rebuild them from the restored store.
    """
    manifest = check_backup(folder)
    if target.exists():
        with _open_exclusively(target) as current:
            held = {t: n for t, n in current.row_counts().items() if n}
        if held and not force:
            summary = ", ".join(f"{t} {n}" for t, n in sorted(held.items())[:4])
            raise StoreError(
                f"the store {target} is not empty ({summary}, ...); restore --force replaces it with the backup"
            )
    staging = target.with_name(f".{target.name}.restoring")
    _remove_store_files(staging)
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(folder / manifest.file, staging)
    try:
        with Store(staging) as restored:  # refuses a newer schema, migrates an older one
            counts = restored.table_counts()
        wrong = {t: (counts.get(t), n) for t, n in manifest.rows.items() if counts.get(t) != n}
        if wrong:
            raise StoreError(f"the restored copy's row counts differ from the manifest: {wrong}")
    except BaseException:
        _remove_store_files(staging)
        raise
    # A WAL left beside the old file must never be replayed into the new one; then one atomic rename.
    target.with_name(target.name + ".wal").unlink(missing_ok=True)
    os.replace(staging, target)
    shutil.rmtree(target.parent / "indexes", ignore_errors=True)
    return manifest


def _remove_store_files(path: Path) -> None:
    path.unlink(missing_ok=True)
    path.with_name(path.name + ".wal").unlink(missing_ok=True)
