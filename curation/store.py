"""The DuckDB store: one file in a workspace's home that holds every fact about every sample.

DuckDB allows one read-write process per file. When another process holds it, opening fails with
``StoreLockedError`` naming the holder (pid and command line) instead of DuckDB's raw lock error,
so a user knows which ``triforge serve`` or import to stop - or to go through the service's API.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType

import duckdb
import pyarrow as pa

from curation.errors import Conflict, StoreError
from curation.migrations import (
    MIGRATIONS,
    Migration,
    SchemaError,
    check_known,
    current_version,
    migrate,
    pending,
)

_COPY_ALIAS = "triforge_copy"  # the name a copy target is attached under while ``copy_to`` writes it


class StoreLockedError(Conflict):
    def __init__(self, path: Path, pid: int | None, command: str | None) -> None:
        holder = f"process {pid}" if pid else "another process"
        if command:
            holder += f" ({command})"
        super().__init__(
            f"the store {path} is locked by {holder}. Only one process may write it at a time: "
            "stop that process, or send the change through the running service's API."
        )
        self.pid = pid
        self.command = command


def _holder_command(pid: int) -> str | None:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    return raw.replace(b"\0", b" ").decode("utf-8", "replace").strip() or None


class Store:
    """An open connection to the store, migrated to the schema this code expects."""

    def __init__(
        self,
        path: Path,
        *,
        read_only: bool = False,
        migrations: Sequence[Migration] = MIGRATIONS,
    ) -> None:
        self.path = Path(path)
        self.read_only = read_only
        self._depth = 0  # transaction nesting: only the outermost one commits
        if read_only and not self.path.exists():
            raise StoreError(f"no store at {self.path}: import something first (triforge import FILE)")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.con = duckdb.connect(str(self.path), read_only=read_only)
        except duckdb.IOException as exc:
            message = str(exc)
            if "lock" not in message.lower():
                raise StoreError(f"cannot open the store {self.path}: {message}") from exc
            match = re.search(r"PID (\d+)", message)
            pid = int(match.group(1)) if match else None
            raise StoreLockedError(self.path, pid, _holder_command(pid) if pid else None) from exc
        try:
            self._prepare_schema(migrations)
        except Exception:
            self.con.close()
            raise

    def _prepare_schema(self, migrations: Sequence[Migration]) -> None:
        if not self.read_only:
            migrate(self.con, migrations)
            return
        version = current_version(self.con)
        check_known(version, migrations)
        if pending(version, migrations):
            raise SchemaError(
                f"the store {self.path} is at schema version {version} and needs migrating; "
                "run any writing command (e.g. `triforge store migrate`) first"
            )

    @property
    def schema_version(self) -> int:
        return current_version(self.con)

    @contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """All writes go through here: everything inside lands together or not at all.

        Nested calls join the outermost transaction, so steps that each write atomically (a status
        change, a correction, validation results) can also be composed into one atomic unit - e.g. a
        review decision that must land whole or not at all when the process is killed.
        """
        if self._depth:
            self._depth += 1
            try:
                yield self.con
            finally:
                self._depth -= 1
            return
        self.con.execute("BEGIN TRANSACTION")
        self._depth = 1
        try:
            yield self.con
        except BaseException:
            self._depth = 0
            self.con.execute("ROLLBACK")
            raise
        self._depth = 0
        self.con.execute("COMMIT")

    def insert_rows(
        self, table: str, columns: Sequence[str], rows: Sequence[Sequence[object]], *, on_conflict: str = ""
    ) -> None:
        """Insert many rows at once through Arrow (DuckDB's ``executemany`` costs ~10 ms a row with keys).

        ``on_conflict`` is ``""``, ``"OR REPLACE"`` or ``"OR IGNORE"``; call inside a transaction.
        """
        if not rows:
            return
        if on_conflict not in ("", "OR REPLACE", "OR IGNORE"):
            raise ValueError(f"bad on_conflict {on_conflict!r}")

        data = pa.table({c: [row[i] for row in rows] for i, c in enumerate(columns)})
        self.con.register("_incoming_rows", data)
        try:
            cols = ", ".join(columns)
            self.con.execute(f"INSERT {on_conflict} INTO {table} ({cols}) SELECT {cols} FROM _incoming_rows")
        finally:
            self.con.unregister("_incoming_rows")

    def tables(self) -> list[str]:
        """The store's tables (not views), in name order: what the migrations created."""
        rows = self.con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' "
            "AND table_type = 'BASE TABLE' ORDER BY table_name"
        ).fetchall()
        return [r[0] for r in rows]

    def row_counts(self) -> dict[str, int]:
        """Rows in every table except the migrations' own bookkeeping."""
        return {
            t: self.con.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0]
            for t in self.tables()
            if t != "schema_version"
        }

    def table_counts(self, database: str | None = None) -> dict[str, int]:
        """Rows in every table of ``database`` (an attached one; default this store's), the migrations'
        bookkeeping included: what a backup's manifest records and a restore checks."""
        database = database or self.con.execute("SELECT current_database()").fetchone()[0]
        tables = [
            r[0]
            for r in self.con.execute(
                "SELECT table_name FROM duckdb_tables() WHERE database_name = ? AND NOT temporary ORDER BY table_name",
                [database],
            ).fetchall()
        ]
        return {t: self.con.execute(f'SELECT count(*) FROM "{database}".main."{t}"').fetchone()[0] for t in tables}

    def copy_to(self, path: Path) -> dict[str, int]:
        """Copy the whole database into a new DuckDB file at ``path`` and return its table counts.

        A checkpoint first, when this connection may write, so the live file also catches up with its
        WAL (a short replay after a crash). Consistent because nothing else writes through this
        connection meanwhile (the caller holds it)."""
        if not self.read_only:
            self.con.execute("CHECKPOINT")
        source = self.con.execute("SELECT current_database()").fetchone()[0]
        quoted = "'" + str(path).replace("'", "''") + "'"
        self.con.execute(f"ATTACH {quoted} AS {_COPY_ALIAS} (READ_WRITE)")
        try:
            self.con.execute(f'COPY FROM DATABASE "{source}" TO {_COPY_ALIAS}')
            return self.table_counts(_COPY_ALIAS)
        finally:
            self.con.execute(f"DETACH {_COPY_ALIAS}")

    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


__all__ = ["SchemaError", "Store", "StoreError", "StoreLockedError"]
