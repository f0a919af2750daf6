"""Land imported rows in the store: one transaction per file, content-addressed, idempotent.

``on_error="skip"`` writes the good rows and lists the bad ones; ``"abort"`` writes nothing from a
file that has any bad row. Either way every problem is reported with its file and line, and the
attempt is logged in the ``imports`` table. Because revision ids are content hashes and provenance
rows are keyed by (revision, file, line, source), a re-run after a crash or a repeat import adds
nothing twice and loses nothing.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Literal

from curation.clock import utc_now
from curation.errors import StorageFailed, storage_failure
from curation.importers.formats import ImportContext, UnrecognisedRow, detect_format
from curation.importers.reader import MAX_ROW_BYTES, read_jsonl
from curation.resources.samples import PendingRevision
from curation.workspace import Workspace
from schemas.imports import FileImportResult, ImportReport, MalformedRow
from schemas.sample import Kind, SourceType

OnError = Literal["skip", "abort"]
ProgressCallback = Callable[[int], None]


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def import_file(
    workspace: Workspace,
    path: Path,
    *,
    source_name: str | None = None,
    kind: Kind | None = None,
    source_type: SourceType | None = None,
    on_error: OnError = "skip",
    max_row_bytes: int = MAX_ROW_BYTES,
    on_progress: ProgressCallback | None = None,
) -> FileImportResult:
    path = Path(path)
    display = str(path)
    result = FileImportResult(file=display)
    if not path.is_file():
        result.malformed.append(MalformedRow(file=display, line=0, error="no such file"))
        result.aborted = True
        return result

    ctx = ImportContext(source_file=str(path.resolve()), source_name=source_name, kind=kind, source_type=source_type)
    items: list[PendingRevision] = []
    formats: set[str] = set()
    for row in read_jsonl(path, max_row_bytes=max_row_bytes, on_progress=on_progress):
        if row.value is None:
            result.malformed.append(MalformedRow(file=display, line=row.line, error=row.error or "unreadable"))
            continue
        result.rows += 1
        try:
            fmt = detect_format(row.value)
            revision = fmt.to_revision(row.value, ctx, row.line)
        except (UnrecognisedRow, ValueError) as exc:
            result.malformed.append(MalformedRow(file=display, line=row.line, error=str(exc)))
            continue
        formats.add(fmt.name)
        items.append(PendingRevision(revision, fmt.initial_status, row.line, row.text))
    result.format = ",".join(sorted(formats)) or None

    result.aborted = on_error == "abort" and bool(result.malformed)
    import_id = uuid.uuid4().hex
    samples = workspace.samples
    with workspace.transaction():
        if not result.aborted:
            result.new = samples.write(items, import_id=import_id, actor=f"import:{path.name}")
            result.existing = len(items) - result.new
        samples.record_import(
            [
                import_id,
                ctx.source_file,
                _file_sha256(path),
                source_type.value if source_type else None,
                source_name,
                on_error,
                result.rows,
                result.new,
                result.existing,
                json.dumps([m.model_dump() for m in result.malformed]),
                result.aborted,
                utc_now(),
            ]
        )
    return result


def import_files(
    workspace: Workspace,
    paths: Sequence[Path],
    *,
    source_name: str | None = None,
    kind: Kind | None = None,
    source_type: SourceType | None = None,
    on_error: OnError = "skip",
    max_row_bytes: int = MAX_ROW_BYTES,
    on_file: Callable[[Path], ProgressCallback | None] | None = None,
) -> ImportReport:
    """Import several files, each in its own transaction (one bad file never blocks the others).

    When the disk refuses a write part-way (full, read-only), raises :class:`ImportInterrupted`
    naming the files already committed and the ones not imported, so a user knows what to re-run."""
    report = ImportReport()
    for done, path in enumerate(paths):
        progress = on_file(Path(path)) if on_file else None
        try:
            result = import_file(
                workspace,
                Path(path),
                source_name=source_name,
                kind=kind,
                source_type=source_type,
                on_error=on_error,
                max_row_bytes=max_row_bytes,
                on_progress=progress,
            )
        except Exception as exc:
            storage = storage_failure(exc)
            if storage is None:
                raise
            raise ImportInterrupted(storage, report, [str(p) for p in paths[done:]]) from exc
        report.add(result)
    return report


class ImportInterrupted(StorageFailed):
    """The disk refused a write mid-import: what was committed stays (each file is its own
    transaction), and the message lists it and what is left to import."""

    def __init__(self, cause: StorageFailed, report: ImportReport, not_imported: list[str]) -> None:
        committed = ", ".join(f"{Path(f.file).name} ({f.new} new)" for f in report.files) or "none"
        super().__init__(
            f"{cause}; files already committed: {committed}; not imported: "
            f"{', '.join(Path(p).name for p in not_imported)} (re-run the import for them: what is stored is skipped)"
        )
        self.report = report
        self.not_imported = not_imported
