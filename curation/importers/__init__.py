"""File imports: read JSONL safely, recognise the field's row formats, land revisions in the store."""

from curation.importers.formats import FORMATS, RowFormat, UnrecognisedRow, detect_format
from curation.importers.reader import MAX_ROW_BYTES, RawRow, read_jsonl
from curation.importers.service import OnError, import_file, import_files

__all__ = [
    "FORMATS",
    "MAX_ROW_BYTES",
    "OnError",
    "RawRow",
    "RowFormat",
    "UnrecognisedRow",
    "detect_format",
    "import_file",
    "import_files",
    "read_jsonl",
]
