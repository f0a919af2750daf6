"""``workspace.classifier``: the classifier's tables - cached prompt embeddings, trained heads and their
predictions - and the labels it trains on, so ``curation/classify`` holds the learning and none of the SQL."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from curation.filters import compile_filter
from curation.resources import Resource

EMBEDDING_COLUMNS = ("revision_id", "view", "model", "vector")
PREDICTION_COLUMNS = ("revision_id", "task", "label", "score", "model_id", "created_at")


class Classifier(Resource):
    def cached_vectors(self, ids: Sequence[str], view: str, model: str):
        """The cached embeddings of ``ids`` (one text view, one model) as an Arrow table (revision_id, vector):
        Arrow, because a few thousand 384-float lists are slow to build as Python lists."""
        return self.store.con.execute(
            "SELECT revision_id, vector FROM classifier_embeddings "
            "WHERE view = ? AND model = ? AND revision_id IN (SELECT unnest(?::VARCHAR[]))",
            [view, model, list(ids)],
        ).to_arrow_table()

    def cache_vectors(self, rows: Sequence[Sequence[Any]]) -> None:
        """(revision id, view, model, vector as a list) rows; a vector already cached is kept."""
        with self.store.transaction():
            self.store.insert_rows("classifier_embeddings", EMBEDDING_COLUMNS, rows, on_conflict="OR IGNORE")

    def model(self, model_id: str) -> tuple[str, str, str] | None:
        """(labels JSON, weights JSON, params JSON) of a stored head, or None."""
        return self.store.con.execute(
            "SELECT labels, weights, params FROM classifier_models WHERE id = ?", [model_id]
        ).fetchone()

    def add_model(self, row: Sequence[Any]) -> None:
        """One ``classifier_models`` row; a head already stored under its id (its inputs' hash) is kept."""
        with self.store.transaction():
            self.store.con.execute(
                "INSERT OR IGNORE INTO classifier_models VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", list(row)
            )

    def labels(self, where: str | None = None) -> list[tuple[str, str, str | None, str | None, str]]:
        """(id, kind, category, intent as imported, duplicate group) of the samples ``where`` selects, in id order."""
        flt = compile_filter(where)
        return self.store.con.execute(
            "SELECT id, kind, category, json_extract_string(metadata, '$.intent'), coalesce(duplicate_of, id) "
            f"FROM samples WHERE {flt.sql} ORDER BY id",
            flt.params,
        ).fetchall()

    def reviewer_categories(self, ids: Sequence[str]) -> dict[str, str]:
        """The category reviewers tagged most often on each revision (submitted responses; ties by name)."""
        rows = self.store.con.execute(
            """
            SELECT revision_id, arg_max(category, n * 1000000 - rank) FROM (
                SELECT revision_id, category, count(*) AS n,
                       row_number() OVER (PARTITION BY revision_id ORDER BY category) AS rank
                FROM reviews
                WHERE status = 'submitted' AND category IS NOT NULL
                  AND revision_id IN (SELECT unnest(?::VARCHAR[]))
                GROUP BY revision_id, category
            ) GROUP BY revision_id
            """,
            [list(ids)],
        ).fetchall()
        return dict(rows)

    def add_predictions(self, rows: Sequence[Sequence[Any]]) -> None:
        """``classifier_predictions`` rows, replacing a task's earlier prediction for the same revision."""
        with self.store.transaction():
            self.store.insert_rows("classifier_predictions", PREDICTION_COLUMNS, rows, on_conflict="OR REPLACE")

    def predictions(self, ids: Sequence[str]) -> list[tuple[str, str, str, float, str]]:
        """(revision, task, label, score, model id) of every stored prediction for ``ids``."""
        return self.store.con.execute(
            "SELECT revision_id, task, label, score, model_id FROM classifier_predictions "
            "WHERE revision_id IN (SELECT unnest(?::VARCHAR[]))",
            [list(ids)],
        ).fetchall()


__all__ = ["EMBEDDING_COLUMNS", "PREDICTION_COLUMNS", "Classifier"]
