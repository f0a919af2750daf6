import subprocess
import sys
import textwrap

import duckdb
import pytest

from curation.migrations import MIGRATIONS, Migration, SchemaError
from curation.store import Store, StoreLockedError
from curation.workspace import Workspace
from tests.factories import REPO, chat_row, write_jsonl


def test_new_store_records_every_migration(home):
    with Store(home / "s.duckdb") as store:
        rows = store.con.execute("SELECT version FROM schema_version ORDER BY version").fetchall()
    assert [r[0] for r in rows] == [m.version for m in MIGRATIONS]


def test_an_existing_store_is_extended_without_losing_data(home, tmp_path):
    from curation.importers import import_file

    path = home / "s.duckdb"
    with Workspace.of_store(Store(path)) as ws:
        import_file(ws, write_jsonl(tmp_path / "a.jsonl", [chat_row("q", "a")]))
    extra = Migration(
        MIGRATIONS[-1].version + 1,
        "add review notes",
        ("ALTER TABLE revisions ADD COLUMN review_note VARCHAR",),
    )
    with Store(path, migrations=(*MIGRATIONS, extra)) as store:
        assert store.schema_version == extra.version
        assert store.con.execute("SELECT count(*), count(review_note) FROM revisions").fetchone() == (1, 0)
    # Re-opening applies nothing twice.
    with Store(path, migrations=(*MIGRATIONS, extra)) as store:
        assert store.con.execute("SELECT count(*) FROM schema_version").fetchone()[0] == extra.version


def test_a_failed_migration_rolls_back_and_leaves_the_version(home):
    path = home / "s.duckdb"
    Store(path).close()
    broken = Migration(MIGRATIONS[-1].version + 1, "broken", ("CREATE TABLE half_done (x INT)", "THIS IS NOT SQL"))
    with pytest.raises(duckdb.Error):
        Store(path, migrations=(*MIGRATIONS, broken))
    with Store(path) as store:
        assert store.schema_version == MIGRATIONS[-1].version
        tables = {r[0] for r in store.con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
        assert "half_done" not in tables


def test_a_newer_store_is_refused(home):
    path = home / "s.duckdb"
    future = Migration(MIGRATIONS[-1].version + 1, "future", ("CREATE TABLE future (x INT)",))
    Store(path, migrations=(*MIGRATIONS, future)).close()
    with pytest.raises(SchemaError, match="newer than this Triforge knows"):
        Store(path)


def test_read_only_open_refuses_a_store_that_needs_migrating(home):
    path = home / "s.duckdb"
    Store(path).close()
    extra = Migration(MIGRATIONS[-1].version + 1, "x", ("CREATE TABLE x (a INT)",))
    with pytest.raises(SchemaError, match="needs migrating"):
        Store(path, read_only=True, migrations=(*MIGRATIONS, extra))


def test_second_writer_gets_an_error_naming_the_holder(home):
    path = home / "s.duckdb"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(f"""
            import sys, time
            sys.path.insert(0, {str(__import__("pathlib").Path.cwd())!r})
            from curation.store import Store
            s = Store({str(path)!r})
            print("ready", flush=True)
            sys.stdin.read()
        """),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "ready"
        with pytest.raises(StoreLockedError) as info:
            Store(path)
        assert info.value.pid == holder.pid
        assert f"process {holder.pid}" in str(info.value) and "python" in str(info.value)
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)
    Store(path).close()  # released: the next writer gets in


def test_nested_transactions_land_together_or_not_at_all(home):
    """A review decision composes steps that each open a transaction; they must commit as one unit."""
    with Store(home / "t.duckdb") as store:
        store.con.execute("CREATE TABLE t (x INTEGER)")
        with pytest.raises(RuntimeError), store.transaction() as con:
            con.execute("INSERT INTO t VALUES (1)")
            with store.transaction() as inner:
                inner.execute("INSERT INTO t VALUES (2)")  # the inner block ends without committing
            raise RuntimeError("killed between steps")
        assert store.con.execute("SELECT count(*) FROM t").fetchone()[0] == 0
        with store.transaction() as con:
            with store.transaction() as inner:
                inner.execute("INSERT INTO t VALUES (3)")
            con.execute("INSERT INTO t VALUES (4)")
        assert store.con.execute("SELECT list(x ORDER BY x) FROM t").fetchone()[0] == [3, 4]
        with store.transaction() as con:  # and the store is usable after both
            con.execute("INSERT INTO t VALUES (5)")
        assert store.con.execute("SELECT count(*) FROM t").fetchone()[0] == 3


def test_the_docs_list_exactly_the_tables_the_migrations_create(tmp_path):
    import re

    reference = (REPO / "docs" / "cli.md").read_text(encoding="utf-8")
    section = reference[reference.index("## The store") :].split("and the view")[0]
    with Store(tmp_path / "triforge.duckdb") as store:
        assert set(re.findall(r"`([a-z_]+)`", section)) == set(store.tables())


def test_the_current_schema_page_is_what_the_migrations_make():
    """``curation/migrations/schema.sql`` is generated; a migration added without regenerating it fails here."""
    from curation.migrations import SCHEMA_FILE, current_schema

    assert SCHEMA_FILE.read_text(encoding="utf-8") == current_schema(), (
        "schema.sql is out of date: run `python -m curation.migrations`"
    )


def test_every_migration_is_a_numbered_sql_file_with_its_description(tmp_path):
    from curation.migrations import FOLDER, load_migrations

    files = sorted(p.name for p in FOLDER.glob("[0-9][0-9][0-9][0-9]_*.sql"))
    assert [m.version for m in MIGRATIONS] == list(range(1, len(files) + 1))
    assert all(m.description and "\n" not in m.description for m in MIGRATIONS)
    (tmp_path / "0001_first.sql").write_text("CREATE TABLE a (x INTEGER);\n")
    with pytest.raises(SchemaError, match="first line must be"):
        load_migrations(tmp_path)
