"""What an import reports back: the CLI prints it, ``--json`` emits it, the API will return it."""

from __future__ import annotations

from pydantic import BaseModel, Field


class MalformedRow(BaseModel):
    file: str
    line: int = Field(description="1-based line number; 0 when the problem is the file as a whole.")
    error: str


class FileImportResult(BaseModel):
    file: str
    format: str | None = None
    rows: int = 0
    new: int = 0
    existing: int = 0
    malformed: list[MalformedRow] = Field(default_factory=list)
    aborted: bool = Field(default=False, description="True when --on-error abort discarded this file.")


class ImportReport(BaseModel):
    new: int = 0
    existing: int = 0
    malformed: list[MalformedRow] = Field(default_factory=list)
    files: list[FileImportResult] = Field(default_factory=list)

    def add(self, result: FileImportResult) -> None:
        self.files.append(result)
        self.new += result.new
        self.existing += result.existing
        self.malformed.extend(result.malformed)
