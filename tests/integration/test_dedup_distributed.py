"""The Ray engine finds the same pairs and clusters as the local engine on the same corpus."""

from __future__ import annotations

import json
import shutil

import pytest
from typer.testing import CliRunner

from curation.dedup.run import DedupConfig, run_dedup
from curation.importers import import_files
from curation.store import Store
from curation.workspace import Workspace
from tests.dialogues import GOOD_ANSWER, GOOD_QUESTION
from tests.factories import chat_row, write_jsonl
from triforge.cli import app

pytest.importorskip("ray", reason="the distributed extra is not installed")

from curation.dedup.distributed import EngineOptions


def _pairs(store: Store) -> set[tuple[str, str, str]]:
    rows = store.con.execute("SELECT a, b, method FROM dedup_pairs").fetchall()
    return set(rows)


def _clusters(store: Store, run_id: str) -> set[tuple[str, frozenset[str]]]:
    rows = store.con.execute(
        "SELECT representative_id, list(revision_id) FROM dedup_members WHERE run_id = ? GROUP BY 1", [run_id]
    ).fetchall()
    return {(rep, frozenset(members)) for rep, members in rows}


def test_ray_local_mode_matches_the_local_engine(tmp_path, field_files):
    base = tmp_path / "corpus.duckdb"
    with Workspace.of_store(Store(base)) as ws:
        import_files(ws, field_files)
        copies = [chat_row(GOOD_QUESTION, GOOD_ANSWER), chat_row(GOOD_QUESTION.upper(), GOOD_ANSWER)]
        import_files(ws, [write_jsonl(tmp_path / "copies.jsonl", copies)])  # equal once normalised
        # Near-copies of field dialogues (a filler word added, as a teacher asked twice writes): buckets of 2+.
        field = [json.loads(line) for line in field_files[2].read_text().splitlines() if line.strip()]
        near = [{**row, "messages": [{**m, "content": m["content"] + " please"} for m in row["messages"]]}
                for row in field if "messages" in row][:30]  # fmt: skip
        import_files(ws, [write_jsonl(tmp_path / "near.jsonl", near)])
    ray_home = tmp_path / "ray-home"
    ray_home.mkdir()
    shutil.copyfile(base, ray_home / "triforge.duckdb")
    with Store(ray_home / "triforge.duckdb") as store:
        store.con.execute("DELETE FROM dedup_pairs")  # the copy carries the generator's check run

    with Workspace.of_store(Store(base)) as ws:
        store = ws.store
        local = run_dedup(ws, config=DedupConfig(methods=("exact", "minhash")))
        local_pairs = _pairs(store)
        local_clusters = _clusters(store, local.id)
    result = CliRunner().invoke(app, ["--home", str(ray_home), "dedup", "run", "--engine", "ray", "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    with Store(ray_home / "triforge.duckdb") as store:
        remote_pairs = _pairs(store)
        remote_clusters = _clusters(store, summary["run"])
        marked = store.con.execute("SELECT count(*) FROM samples WHERE duplicate_of IS NOT NULL").fetchone()[0]

    assert len(local.clusters) > 3 and sum(len(c.members) for c in local.clusters) > 10
    assert summary["clusters"] == len(local.clusters) and remote_clusters == local_clusters
    assert remote_pairs == local_pairs and {m for _, _, m in remote_pairs} == {"exact", "minhash"}
    assert marked == local.duplicates


def test_an_unknown_engine_is_a_user_error(home):
    result = CliRunner().invoke(app, ["--home", str(home), "dedup", "run", "--engine", "spark"])
    assert result.exit_code == 2 and "choose local or ray" in result.output


def test_ray_engine_refuses_embedding():
    from curation.dedup.distributed import find_pairs_ray
    from curation.errors import Invalid

    with pytest.raises(Invalid, match="local engine"):
        find_pairs_ray(None, DedupConfig(methods=("exact", "embedding")), EngineOptions())  # type: ignore[arg-type]
