"""``python -m curation.migrations``: write schema.sql, the current schema, from the numbered migrations."""

from curation.migrations import SCHEMA_FILE, current_schema

SCHEMA_FILE.write_text(current_schema(), encoding="utf-8")
print(f"wrote {SCHEMA_FILE}")
