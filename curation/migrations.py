"""Versioned schema migrations.

Each migration has a version number, a description and SQL statements. Opening a store for writing
applies the pending ones in one transaction each and records them in ``schema_version``, so a file
written by an older Triforge keeps working and later capabilities extend the schema by appending
to ``MIGRATIONS`` - never by editing a migration that has shipped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import duckdb

from curation.errors import Conflict


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    statements: tuple[str, ...]


class SchemaError(Conflict):
    """The store's schema cannot be used by this version of Triforge."""


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "revisions, provenance, status events, imports, snapshots",
        (
            """
            CREATE TABLE revisions (
                id VARCHAR PRIMARY KEY,          -- sha256 of canonical identity JSON
                parent_id VARCHAR,               -- set for corrections
                kind VARCHAR NOT NULL,
                category VARCHAR,
                messages JSON NOT NULL,
                metadata JSON NOT NULL,
                source_type VARCHAR NOT NULL,    -- first provenance, denormalised for filters
                source_name VARCHAR NOT NULL,
                created_at TIMESTAMP NOT NULL
            )
            """,
            """
            CREATE TABLE provenance (
                revision_id VARCHAR NOT NULL,
                source_type VARCHAR NOT NULL,
                source_name VARCHAR NOT NULL,
                source_file VARCHAR,
                source_line INTEGER,
                original JSON,
                import_id VARCHAR,
                recorded_at TIMESTAMP NOT NULL
            )
            """,
            "CREATE SEQUENCE status_event_seq START 1",
            """
            CREATE TABLE status_events (
                seq BIGINT PRIMARY KEY DEFAULT nextval('status_event_seq'),
                revision_id VARCHAR NOT NULL,
                status VARCHAR NOT NULL,
                actor VARCHAR NOT NULL,
                reason VARCHAR,
                recorded_at TIMESTAMP NOT NULL
            )
            """,
            """
            CREATE TABLE imports (
                id VARCHAR PRIMARY KEY,
                file VARCHAR NOT NULL,
                file_sha256 VARCHAR,
                source_type VARCHAR,
                source_name VARCHAR,
                on_error VARCHAR NOT NULL,
                rows INTEGER NOT NULL,
                new INTEGER NOT NULL,
                existing INTEGER NOT NULL,
                malformed JSON NOT NULL,
                aborted BOOLEAN NOT NULL,
                recorded_at TIMESTAMP NOT NULL
            )
            """,
            """
            CREATE TABLE snapshots (
                id VARCHAR PRIMARY KEY,          -- sha256 of sorted member ids
                name VARCHAR NOT NULL UNIQUE,
                where_clause VARCHAR NOT NULL,
                parent_id VARCHAR,
                member_count INTEGER NOT NULL,
                content_hash VARCHAR NOT NULL,
                counts JSON NOT NULL,
                created_at TIMESTAMP NOT NULL
            )
            """,
            """
            CREATE TABLE snapshot_members (
                snapshot_id VARCHAR NOT NULL,
                revision_id VARCHAR NOT NULL,
                PRIMARY KEY (snapshot_id, revision_id)
            )
            """,
            # The current status of a revision is its latest status event; 'proposed' if it has none.
            """
            CREATE VIEW samples AS
            SELECT r.*,
                   coalesce(s.status, 'proposed') AS status
            FROM revisions r
            LEFT JOIN (
                SELECT revision_id, arg_max(status, seq) AS status
                FROM status_events GROUP BY revision_id
            ) s ON s.revision_id = r.id
            """,
        ),
    ),
    Migration(
        2,
        "validation results, per-sample validation summary, assembler cache",
        (
            """
            CREATE TABLE validation_results (
                revision_id VARCHAR NOT NULL,
                validator VARCHAR NOT NULL,
                version VARCHAR NOT NULL,
                passed BOOLEAN NOT NULL,
                score DOUBLE NOT NULL,
                issues JSON NOT NULL,
                details JSON NOT NULL,
                validated_at TIMESTAMP NOT NULL,
                PRIMARY KEY (revision_id, validator, version)
            )
            """,
            # One row per revision: did its kind's required validators (at their current versions) pass?
            """
            CREATE TABLE validation_summary (
                revision_id VARCHAR PRIMARY KEY,
                profile VARCHAR NOT NULL,
                passed BOOLEAN NOT NULL,
                score DOUBLE NOT NULL,
                failed JSON NOT NULL,
                validated_at TIMESTAMP NOT NULL
            )
            """,
            """
            CREATE TABLE asm_cache (
                key VARCHAR PRIMARY KEY,            -- sha256 of assembler version + snippet
                outcome JSON NOT NULL,
                created_at TIMESTAMP NOT NULL
            )
            """,
            """
            CREATE OR REPLACE VIEW samples AS
            SELECT r.*,
                   coalesce(s.status, 'proposed') AS status,
                   CASE WHEN v.passed THEN 'passed' WHEN NOT v.passed THEN 'failed' ELSE 'pending' END
                       AS validation,
                   v.score AS validation_score
            FROM revisions r
            LEFT JOIN (
                SELECT revision_id, arg_max(status, seq) AS status
                FROM status_events GROUP BY revision_id
            ) s ON s.revision_id = r.id
            LEFT JOIN validation_summary v ON v.revision_id = r.id
            """,
        ),
    ),
    Migration(
        3,
        "near-duplicate detection runs and eval contamination checks",
        (
            # Exact fingerprints per normalisation, so exact dedup is incremental too.
            """
            CREATE TABLE dedup_fingerprints (
                revision_id VARCHAR NOT NULL,
                options_key VARCHAR NOT NULL,
                exact_hash VARCHAR NOT NULL,
                PRIMARY KEY (revision_id, options_key)
            )
            """,
            # Every similar pair ever found (a < b), per method and parameter set.
            """
            CREATE TABLE dedup_pairs (
                a VARCHAR NOT NULL,
                b VARCHAR NOT NULL,
                method VARCHAR NOT NULL,
                params_key VARCHAR NOT NULL,
                similarity DOUBLE NOT NULL,
                found_in_run VARCHAR NOT NULL,
                PRIMARY KEY (a, b, method, params_key)
            )
            """,
            """
            CREATE TABLE dedup_runs (
                id VARCHAR PRIMARY KEY,
                methods JSON NOT NULL,
                params JSON NOT NULL,
                where_clause VARCHAR NOT NULL,
                samples INTEGER NOT NULL,
                pairs INTEGER NOT NULL,
                clusters INTEGER NOT NULL,
                duplicates INTEGER NOT NULL,
                stats JSON NOT NULL,
                created_at TIMESTAMP NOT NULL
            )
            """,
            # Members of multi-sample clusters; the representative has representative_id = revision_id.
            """
            CREATE TABLE dedup_members (
                run_id VARCHAR NOT NULL,
                cluster_id INTEGER NOT NULL,
                revision_id VARCHAR NOT NULL,
                representative_id VARCHAR NOT NULL,
                similarity DOUBLE,
                methods JSON NOT NULL,
                PRIMARY KEY (run_id, revision_id)
            )
            """,
            """
            CREATE TABLE contamination_checks (
                id VARCHAR PRIMARY KEY,
                snapshot_id VARCHAR NOT NULL,
                eval_files JSON NOT NULL,
                params JSON NOT NULL,
                evals INTEGER NOT NULL,
                leaks INTEGER NOT NULL,
                results JSON NOT NULL,
                created_at TIMESTAMP NOT NULL
            )
            """,
            # duplicate_of: the representative chosen by the latest dedup run that saw the sample.
            """
            CREATE OR REPLACE VIEW samples AS
            SELECT r.*,
                   coalesce(s.status, 'proposed') AS status,
                   CASE WHEN v.passed THEN 'passed' WHEN NOT v.passed THEN 'failed' ELSE 'pending' END
                       AS validation,
                   v.score AS validation_score,
                   d.duplicate_of
            FROM revisions r
            LEFT JOIN (
                SELECT revision_id, arg_max(status, seq) AS status
                FROM status_events GROUP BY revision_id
            ) s ON s.revision_id = r.id
            LEFT JOIN validation_summary v ON v.revision_id = r.id
            LEFT JOIN (
                SELECT m.revision_id,
                       -- a struct, because arg_max skips NULL values and "representative" is NULL here
                       arg_max({'d': CASE WHEN m.representative_id = m.revision_id THEN NULL
                                          ELSE m.representative_id END}, dr.created_at).d AS duplicate_of
                FROM dedup_members m JOIN dedup_runs dr ON dr.id = m.run_id
                GROUP BY m.revision_id
            ) d ON d.revision_id = r.id
            """,
        ),
    ),
    Migration(
        4,
        "API keys and community submissions",
        (
            # Only a SHA-256 of each key is kept: keys are 256-bit random tokens, shown once.
            """
            CREATE TABLE api_keys (
                id VARCHAR PRIMARY KEY,
                name VARCHAR NOT NULL,
                role VARCHAR NOT NULL,
                key_hash VARCHAR NOT NULL UNIQUE,
                created_at TIMESTAMP NOT NULL,
                revoked_at TIMESTAMP
            )
            """,
            """
            CREATE TABLE submissions (
                id VARCHAR PRIMARY KEY,
                key_id VARCHAR NOT NULL,
                contributor VARCHAR NOT NULL,
                revision_id VARCHAR NOT NULL,
                valid BOOLEAN NOT NULL,
                duplicate_of VARCHAR,
                similarity DOUBLE,
                report JSON NOT NULL,
                created_at TIMESTAMP NOT NULL
            )
            """,
        ),
    ),
    Migration(
        5,
        "training runs, eval runs and per-case eval results",
        (
            # One row per `triforge train`; the adapter directory holds the same manifest as JSON.
            """
            CREATE TABLE training_runs (
                id VARCHAR PRIMARY KEY,
                snapshot_id VARCHAR NOT NULL,
                snapshot_content_hash VARCHAR NOT NULL,
                base_model VARCHAR NOT NULL,
                base_model_sha256 VARCHAR NOT NULL,
                adapter_path VARCHAR NOT NULL,
                config JSON NOT NULL,
                metrics JSON NOT NULL,
                forced BOOLEAN NOT NULL,
                started_at TIMESTAMP NOT NULL,
                finished_at TIMESTAMP NOT NULL
            )
            """,
            """
            CREATE TABLE eval_runs (
                id VARCHAR PRIMARY KEY,
                model VARCHAR NOT NULL,             -- what was evaluated: adapter dir, model dir or responses file
                training_run_id VARCHAR,            -- set when the model is an adapter Triforge trained
                suite_file VARCHAR NOT NULL,
                suite_sha256 VARCHAR NOT NULL,
                generation JSON NOT NULL,
                summary JSON NOT NULL,
                created_at TIMESTAMP NOT NULL
            )
            """,
            """
            CREATE TABLE eval_results (
                eval_run_id VARCHAR NOT NULL,
                suite VARCHAR NOT NULL,
                case_name VARCHAR NOT NULL,
                category VARCHAR,
                response VARCHAR NOT NULL,
                substring_score DOUBLE NOT NULL,
                substring_passed BOOLEAN NOT NULL,
                word_score DOUBLE NOT NULL,
                word_passed BOOLEAN NOT NULL,
                detail JSON NOT NULL,
                PRIMARY KEY (eval_run_id, suite, case_name)
            )
            """,
        ),
    ),
    Migration(
        6,
        "teacher and bootstrap request ledger (resumable, paid-for-once batches)",
        (
            # One row per task of a batch. The raw reply is written the moment it arrives, so a killed
            # run resumes by parsing what it already paid for instead of asking again.
            """
            CREATE TABLE teacher_requests (
                batch_id VARCHAR NOT NULL,
                task_index INTEGER NOT NULL,
                task JSON NOT NULL,
                provider VARCHAR NOT NULL,
                model VARCHAR NOT NULL,
                status VARCHAR NOT NULL,          -- answered | stored | failed
                attempts INTEGER NOT NULL,
                repaired BOOLEAN NOT NULL,
                raw_response VARCHAR,
                prompt_tokens INTEGER NOT NULL,
                completion_tokens INTEGER NOT NULL,
                cost_usd DOUBLE NOT NULL,
                error VARCHAR,
                revision_id VARCHAR,
                updated_at TIMESTAMP NOT NULL,
                PRIMARY KEY (batch_id, task_index)
            )
            """,
        ),
    ),
    Migration(
        7,
        "refinement loop state, one row per round and step",
        (
            """
            CREATE TABLE loop_steps (
                round INTEGER NOT NULL,
                step VARCHAR NOT NULL,
                status VARCHAR NOT NULL,          -- running | waiting | done | failed
                data JSON NOT NULL,
                error VARCHAR,
                updated_at TIMESTAMP NOT NULL,
                PRIMARY KEY (round, step)
            )
            """,
        ),
    ),
    Migration(
        8,
        "Argilla sync: what was pushed where, reviewers' responses, applied decisions",
        (
            """
            CREATE TABLE argilla_records (
                revision_id VARCHAR PRIMARY KEY,  -- also the Argilla record id
                dataset VARCHAR NOT NULL,
                pushed_at TIMESTAMP NOT NULL
            )
            """,
            """
            CREATE TABLE reviews (
                revision_id VARCHAR NOT NULL,
                reviewer VARCHAR NOT NULL,
                status VARCHAR NOT NULL,          -- Argilla response status: draft | submitted | discarded
                decision VARCHAR,                 -- approve | reject
                corrected_answer VARCHAR,
                category VARCHAR,
                rating INTEGER,
                notes VARCHAR,
                responded_at TIMESTAMP,
                pulled_at TIMESTAMP NOT NULL,
                PRIMARY KEY (revision_id, reviewer)
            )
            """,
            """
            CREATE TABLE review_outcomes (
                revision_id VARCHAR PRIMARY KEY,
                outcome VARCHAR NOT NULL,         -- approved | rejected | corrected | disputed
                rule VARCHAR NOT NULL,
                corrected_revision_id VARCHAR,
                decided_at TIMESTAMP NOT NULL
            )
            """,
        ),
    ),
    Migration(
        9,
        "Argilla pull cursor: where an interrupted pull resumes",
        (
            # One row per dataset while a pull is under way: the last revision id (pulls walk open records
            # in id order) whose page landed. A finished pull deletes its row; a killed one leaves it.
            """
            CREATE TABLE argilla_pull_cursors (
                dataset VARCHAR PRIMARY KEY,
                last_revision_id VARCHAR NOT NULL,
                started_at TIMESTAMP NOT NULL,
                updated_at TIMESTAMP NOT NULL
            )
            """,
        ),
    ),
    Migration(
        10,
        "validator-based eval metrics per case, contamination flags, and curation experiments",
        (
            # Each case's metrics as {name: value or null}; null where a metric does not apply to the case.
            "ALTER TABLE eval_results ADD COLUMN metrics JSON",
            "ALTER TABLE eval_results ADD COLUMN kind VARCHAR",
            # The case's prompt was found in the evaluated adapter's training snapshot: left out of means.
            "ALTER TABLE eval_results ADD COLUMN contaminated BOOLEAN DEFAULT false",
            """
            CREATE TABLE experiments (
                name VARCHAR PRIMARY KEY,
                plan JSON NOT NULL,               -- snapshots, base model, budget, seeds, suites, generation
                created_at TIMESTAMP NOT NULL
            )
            """,
            # One row per unit of work (train one adapter, evaluate one model); a done step is never redone.
            """
            CREATE TABLE experiment_steps (
                experiment VARCHAR NOT NULL,
                step VARCHAR NOT NULL,            -- e.g. train:curated:seed0, eval:base
                status VARCHAR NOT NULL,          -- running | done | failed
                data JSON NOT NULL,
                error VARCHAR,
                updated_at TIMESTAMP NOT NULL,
                PRIMARY KEY (experiment, step)
            )
            """,
        ),
    ),
    Migration(
        11,
        "suggested labels: classifier models, their predictions, and cached embeddings",
        (
            # One linear head per task and training set, its weights as JSON (no pickle is ever loaded).
            # The id hashes the task, the classifier version, the embedding model and the (id, label)
            # pairs it learned from, so retraining on unchanged labels reuses the model.
            """
            CREATE TABLE classifier_models (
                id VARCHAR PRIMARY KEY,
                task VARCHAR NOT NULL,            -- kind | category | intent
                classifier VARCHAR NOT NULL,      -- e.g. classifier@1
                embedding_model VARCHAR NOT NULL,
                view VARCHAR NOT NULL,            -- which text was embedded: conversation | prompt
                labels JSON NOT NULL,             -- the classes, in weight order
                weights JSON NOT NULL,            -- {coef, intercept}
                trained_on INTEGER NOT NULL,
                label_counts JSON NOT NULL,
                params JSON NOT NULL,
                created_at TIMESTAMP NOT NULL     -- UTC
            )
            """,
            # The latest prediction per sample and task. Kept apart from revisions.kind/category and from
            # reviews, so a prediction never overwrites a label a file or a person gave.
            """
            CREATE TABLE classifier_predictions (
                revision_id VARCHAR NOT NULL,
                task VARCHAR NOT NULL,
                label VARCHAR NOT NULL,
                score DOUBLE NOT NULL,            -- the model's probability for label
                model_id VARCHAR NOT NULL,
                created_at TIMESTAMP NOT NULL,    -- UTC
                PRIMARY KEY (revision_id, task)
            )
            """,
            # Sentence embeddings the classifier computed (revision ids are content hashes, so a cached
            # vector never goes stale); dedup's own faiss index is read first for the conversation view.
            """
            CREATE TABLE classifier_embeddings (
                revision_id VARCHAR NOT NULL,
                view VARCHAR NOT NULL,
                model VARCHAR NOT NULL,
                vector FLOAT[] NOT NULL,
                PRIMARY KEY (revision_id, view, model)
            )
            """,
        ),
    ),
    Migration(
        12,
        "idempotency records: the first answer to each Idempotency-Key, per API key",
        (
            # Written in the same transaction as the submissions the answer reports, so after a crash a
            # record exists exactly when its writes do: a retry either replays the answer or runs afresh.
            """
            CREATE TABLE idempotency_records (
                key_id VARCHAR NOT NULL,          -- the API key that sent it: clients' keys never collide
                idempotency_key VARCHAR NOT NULL,
                operation VARCHAR NOT NULL,       -- e.g. POST /v1/submissions
                fingerprint VARCHAR NOT NULL,     -- sha256 of the operation and its body
                status INTEGER NOT NULL,          -- the HTTP status of the first answer
                body JSON NOT NULL,               -- its body, replayed verbatim
                location VARCHAR,
                created_at TIMESTAMP NOT NULL,    -- UTC
                PRIMARY KEY (key_id, idempotency_key)
            )
            """,
        ),
    ),
    Migration(
        13,
        "review answers: the per-kind form's other answers (tags) with each review",
        (
            # {question: value} for the questions beyond decision, correction, category, rating and notes:
            # a quest's realises / hook_ok / flag_ok / message_ok / canon / difficulty / corrected_design, a
            # dialogue's diagnosis_matches, ... NULL for a review that answered none of them.
            "ALTER TABLE reviews ADD COLUMN answers JSON",
        ),
    ),
)


def _ensure_version_table(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(
        "CREATE TABLE IF NOT EXISTS schema_version ("
        " version INTEGER PRIMARY KEY, description VARCHAR NOT NULL, applied_at TIMESTAMP NOT NULL)"
    )


def current_version(con: duckdb.DuckDBPyConnection) -> int:
    exists = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'schema_version'"
    ).fetchone()[0]
    if not exists:
        return 0
    return con.execute("SELECT coalesce(max(version), 0) FROM schema_version").fetchone()[0]


def check_known(version: int, migrations: Sequence[Migration] = MIGRATIONS) -> None:
    latest = migrations[-1].version if migrations else 0
    if version > latest:
        raise SchemaError(
            f"this store is at schema version {version}, newer than this Triforge knows ({latest}); "
            "upgrade Triforge rather than risk writing an older layout into it"
        )


def pending(version: int, migrations: Sequence[Migration] = MIGRATIONS) -> list[Migration]:
    return [m for m in migrations if m.version > version]


def migrate(con: duckdb.DuckDBPyConnection, migrations: Sequence[Migration] = MIGRATIONS) -> list[int]:
    """Apply pending migrations, each in its own transaction. Returns the versions applied."""
    versions = [m.version for m in migrations]
    if versions != sorted(set(versions)):
        raise SchemaError("migration versions must be unique and increasing")
    _ensure_version_table(con)
    version = current_version(con)
    check_known(version, migrations)
    applied: list[int] = []
    for migration in pending(version, migrations):
        con.execute("BEGIN TRANSACTION")
        try:
            for statement in migration.statements:
                con.execute(statement)
            con.execute(
                "INSERT INTO schema_version VALUES (?, ?, now()::TIMESTAMP)",
                [migration.version, migration.description],
            )
            con.execute("COMMIT")
        except Exception:
            con.execute("ROLLBACK")
            raise
        applied.append(migration.version)
    return applied
