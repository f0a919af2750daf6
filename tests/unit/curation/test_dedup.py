"""Dedup on real DuckDB files with the real datasketch LSH, faiss and MiniLM model."""

import json
import re

import numpy as np
import pytest
from typer.testing import CliRunner

from curation.dedup.minhash import MinHasher, MinHashParams
from curation.dedup.normalize import NormalizeOptions, conversation_text, normalize_text
from curation.dedup.run import DedupConfig, index_dir, run_dedup
from curation.importers import import_file, import_files
from tests.dialogues import GOOD_ANSWER, GOOD_QUESTION
from tests.factories import PARAPHRASE_A, PARAPHRASE_A2, PARAPHRASE_Q, chat_row, write_jsonl
from triforge.cli import app


def _id_of(store, needle):
    return store.con.execute(
        "SELECT id FROM revisions WHERE contains(CAST(messages AS VARCHAR), ?)", [needle]
    ).fetchone()[0]


# --- normalisation and signatures ---------------------------------------------------------------------


def test_the_same_dialogue_in_two_formats_normalises_the_same(workspace, tmp_path):
    chat = write_jsonl(
        tmp_path / "c.jsonl",
        [
            {
                "messages": [
                    {"role": "system", "content": "You are Farore."},
                    {"role": "user", "content": "Why  does LDA #0x1F crash?"},
                    {"role": "assistant", "content": "**Bug: width**\n```asm\nLDA #$1f ; load\n```"},
                ]
            }
        ],
    )
    alpaca = write_jsonl(
        tmp_path / "a.jsonl",
        [{"instruction": "why does lda #$1F crash?", "output": "**Bug: width**\n```asm\nLDA #$1F   ; load\n```"}],
    )
    import_files(workspace, [chat, alpaca])

    texts = {conversation_text(workspace.samples.get(r["id"]).revision) for r in workspace.samples.list()}
    assert len(texts) == 1
    assert "farore" not in next(iter(texts))


def test_asm_comments_can_be_ignored():
    a, b = "LDA #$10 ; set the width\nSTA $00", "lda #$10 ; different comment\nsta $00"
    assert normalize_text(a) != normalize_text(b)
    opts = NormalizeOptions(strip_asm_comments=True)
    assert normalize_text(a, opts) == normalize_text(b, opts)


def test_signature_estimates_track_true_jaccard_and_are_deterministic():
    rng = np.random.default_rng(0)
    words = [f"w{i}" for i in range(3000)]
    hasher = MinHasher(MinHashParams(num_perm=256, size=3))
    errors = []
    for _ in range(40):
        base = list(rng.choice(words, 80))
        other = base.copy()
        for i in rng.choice(80, rng.integers(0, 30), replace=False):
            other[i] = "x" + str(i)
        sa, sb = hasher.signatures([" ".join(base), " ".join(other)])
        ga = set(zip(base, base[1:], base[2:], strict=False))
        gb = set(zip(other, other[1:], other[2:], strict=False))
        errors.append(abs(np.mean(sa == sb) - len(ga & gb) / len(ga | gb)))
    assert np.mean(errors) < 0.04 and max(errors) < 0.15
    again = MinHasher(MinHashParams(num_perm=256, size=3)).signatures(["a b c d e"])
    assert np.array_equal(again, hasher.signatures(["a b c d e"]))
    assert not np.array_equal(MinHasher(MinHashParams(num_perm=256, size=3, seed=2)).signatures(["a b c d e"]), again)


def test_a_batch_hashes_each_text_as_if_it_were_alone():
    texts = ["", "lda", "lda #$10", "lda #$10 sta $00 rts", "", " ".join(f"w{i}" for i in range(300))]
    hasher = MinHasher(MinHashParams(size=3))
    together = hasher.signatures(texts)
    alone = np.stack([MinHasher(MinHashParams(size=3)).signatures([t])[0] for t in texts])
    assert np.array_equal(together, alone)
    assert np.array_equal(together[0], together[4])  # empty texts agree with each other
    assert not np.array_equal(together[1], together[2])


def test_bad_minhash_parameters_are_refused():
    for bad in ({"shingle": "line"}, {"num_perm": 4}, {"threshold": 1.5}, {"size": 0}):
        with pytest.raises(ValueError):
            MinHashParams(**bad)


# --- exact and MinHash ---------------------------------------------------------------------------------


@pytest.fixture
def near_dups(workspace, tmp_path):
    """A dialogue, its reformatted copy, a one-word edit of it, and an unrelated sample."""
    rows = [
        chat_row(GOOD_QUESTION, GOOD_ANSWER),
        chat_row(GOOD_QUESTION.upper(), GOOD_ANSWER.replace("\n\n", "\n  \n")),  # exact after normalising
        chat_row(GOOD_QUESTION, GOOD_ANSWER.replace("swallows", "eats")),  # near
        chat_row("What does STZ $2100 do?", "It clears INIDISP, turning the screen on at zero brightness."),
    ]
    import_file(workspace, write_jsonl(tmp_path / "d.jsonl", rows))
    return workspace


def test_exact_and_minhash_cluster_copies_and_edits_but_nothing_is_deleted(near_dups):
    workspace = near_dups
    store = workspace.store
    run = run_dedup(workspace, config=DedupConfig(methods=("exact", "minhash")))
    assert run.samples == 4 and len(run.clusters) == 1
    cluster = run.clusters[0]
    assert len(cluster.members) == 3 and run.duplicates == 2
    assert run.pairs_found["exact"] == 1 and run.pairs_found["minhash"] >= 1
    assert store.con.execute("SELECT count(*) FROM revisions").fetchone()[0] == 4
    assert workspace.samples.count("duplicate_of is not null") == 2
    assert workspace.samples.count(f"duplicate_of = {cluster.representative}") == 2
    # Exact alone does not see the edited copy.
    exact_only = run_dedup(workspace, config=DedupConfig(methods=("exact",)))
    assert [len(c.members) for c in exact_only.clusters] == [2]


def test_representative_policy_prefers_approved_then_validation_then_earliest(near_dups):
    workspace = near_dups
    store = workspace.store
    first = run_dedup(workspace)
    members = first.clusters[0].members
    earliest = min(
        members,
        key=lambda m: (store.con.execute("SELECT created_at FROM revisions WHERE id = ?", [m]).fetchone()[0], m),
    )
    assert first.clusters[0].representative == earliest
    store.con.execute(
        "INSERT INTO validation_summary VALUES (?, 'debug_dialogue', true, 0.9, '[]', now())", [members[-1]]
    )
    assert run_dedup(workspace).clusters[0].representative == members[-1]
    approved = next(m for m in members if m != members[-1])
    workspace.samples.set_status([approved], "approved", actor="expert")
    latest = run_dedup(workspace)
    assert latest.clusters[0].representative == approved
    # The samples view follows the latest run.
    assert workspace.samples.count(f"duplicate_of = {approved}") == 2
    assert workspace.samples.count(f"id = {approved} and duplicate_of is null") == 1


def test_runs_are_incremental_through_persisted_indexes(near_dups, tmp_path):
    workspace = near_dups
    config = DedupConfig(methods=("exact", "minhash"))
    run_dedup(workspace, config=config)
    folder = index_dir(workspace, "minhash", config.params_key("minhash"))
    assert (folder / "signatures.npy").exists() and (folder / "keys.json").exists()
    again = run_dedup(workspace, config=config)
    assert again.indexed == {"exact": 0, "minhash": 0} and len(again.clusters) == 1
    newcomer = chat_row(GOOD_QUESTION, GOOD_ANSWER.replace("swallows", "consumes"))
    import_file(workspace, write_jsonl(tmp_path / "new.jsonl", [newcomer]))
    third = run_dedup(workspace, config=config)
    assert third.indexed == {"exact": 1, "minhash": 1}
    assert third.pairs_found["minhash"] >= 1
    assert len(third.clusters) == 1 and len(third.clusters[0].members) == 4


def test_where_limits_which_samples_are_clustered(near_dups):
    workspace = near_dups
    store = workspace.store
    keep = _id_of(store, "STZ $2100")
    run = run_dedup(workspace, f"id = {keep}")
    assert run.samples == 1 and run.clusters == []


def test_unknown_method_is_refused():
    from curation.store import StoreError

    with pytest.raises(StoreError, match="unknown dedup method"):
        DedupConfig(methods=("fuzzy",))


# --- embeddings (real MiniLM from the PyPI package, offline) --------------------------------------------


def test_embeddings_find_paraphrases_minhash_cannot(workspace, tmp_path):
    rows = [
        chat_row(PARAPHRASE_Q, PARAPHRASE_A),
        chat_row(PARAPHRASE_Q, PARAPHRASE_A2),
        chat_row("How do I wait for VBlank?", "Poll bit 7 of $4212 (HVBJOY) until it is set."),
    ]
    import_file(workspace, write_jsonl(tmp_path / "p.jsonl", rows))
    minhash = run_dedup(workspace, config=DedupConfig(methods=("minhash",)))
    assert minhash.clusters == []
    run = run_dedup(workspace, config=DedupConfig(methods=("exact", "minhash", "embedding"), embedding_threshold=0.85))
    assert [len(c.members) for c in run.clusters] == [2]
    assert "embedding" in next(iter(run.clusters[0].methods.values()))
    folder = index_dir(workspace, "embedding", DedupConfig().params_key("embedding"))
    assert (folder / "vectors.faiss").exists()
    again = run_dedup(workspace, config=DedupConfig(methods=("embedding",), embedding_threshold=0.85))
    assert again.indexed == {"embedding": 0} and len(again.clusters) == 1


# --- reports ------------------------------------------------------------------------------------------


def test_reports_in_three_formats(near_dups, home):
    from curation.dedup.report import render_report

    run = run_dedup(near_dups)
    page = render_report(near_dups, run.id[:8], "html")
    assert "<svg" in page and 'class="diff"' in page and "duplicate of" in page
    assert not re.search(r"""(src|href)=["']?https?:""", page)  # self-contained
    assert "consumes" not in page and "eats" in page  # the edit shows in the side-by-side diff
    md = render_report(near_dups, "latest", "md")
    assert "```diff" in md and "| samples marked duplicate | 2 |" in md
    data = json.loads(render_report(near_dups, "latest", "json"))
    assert data["run"]["id"] == run.id and len(data["clusters"][0]["members"]) == 3
    assert sum(sum(v) for k, v in data["histogram"].items() if k != "bins") >= 2


def test_cli_dedup(home, tmp_path, field_dir):
    runner = CliRunner()
    runner.invoke(app, ["import", str(field_dir / "veran_snes_hardware.jsonl")])
    result = runner.invoke(app, ["dedup", "run", "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["samples"] == 90 and summary["newly_indexed"]["minhash"] == 90
    out = tmp_path / "r.html"
    assert runner.invoke(app, ["dedup", "report", summary["run"], "--out", str(out)]).exit_code == 0
    assert out.read_text().startswith("<!doctype html>")
    assert [r["id"] for r in json.loads(runner.invoke(app, ["dedup", "list", "--json"]).stdout)] == [summary["run"]]
    bad = runner.invoke(app, ["dedup", "run", "--method", "exact,fuzzy"])
    assert bad.exit_code == 2 and "unknown dedup method" in bad.output
    bad = runner.invoke(app, ["dedup", "run", "--shingle", "line"])
    assert bad.exit_code == 2 and "shingle" in bad.output


def test_numpy_lsh_proposes_exactly_what_datasketch_lsh_returns():
    """The banding in curation.dedup.lsh against datasketch's public insert/query on the same signatures."""
    from datasketch import LeanMinHash, MinHashLSH

    from curation.dedup.index import MinHashIndex

    rng = np.random.default_rng(3)
    texts = [" ".join(rng.choice([f"w{i}" for i in range(400)], 40)) for _ in range(300)]
    texts += [t.replace("w1 ", "w2 ", 1) for t in texts[:50]]  # near copies share buckets
    params = MinHashParams()
    sigs = MinHasher(params).signatures(texts)
    keys = [f"k{i}" for i in range(len(texts))]
    ours = MinHashIndex(params)
    ours.add(keys[:200], sigs[:200])
    for key, sig in zip(keys[200:], sigs[200:], strict=True):  # the online path: one row at a time
        ours.add([key], sig[None, :])
    reference = MinHashLSH(threshold=params.threshold, num_perm=params.num_perm)
    for key, sig in zip(keys, sigs, strict=True):
        reference.insert(key, LeanMinHash(seed=1, hashvalues=sig, scheme="affine32"))
    shared = 0
    for sig in sigs:
        expected = sorted(reference.query(LeanMinHash(seed=1, hashvalues=sig, scheme="affine32")))
        _, r = ours.bands.candidates(sig[None, :])
        assert sorted(ours.keys[j] for j in r.tolist()) == expected
        shared += len(expected) > 1
    assert shared >= 50  # the planted copies did collide


def test_code_decides_when_prose_is_alike(store, workspace, tmp_path):
    """The field's 'does nothing' rows differ only in their instruction; a near copy keeps its code."""
    from curation.dedup.report import render_report

    def row(instruction: str, suffix: str = "") -> dict:
        question = f"```asm\nLDA $10\n{instruction}\nSTA $10\n```\n\nInefficient or incorrect. What's wrong?{suffix}"
        answer = f"**Bug: no-op**\n\n`{instruction}` leaves A as it was, so the load and store are wasted work."
        return chat_row(question, answer)

    rows = [row("ORA #$00"), row("EOR #$00"), row("ORA #$00", " Thanks!")]
    import_files(workspace, [write_jsonl(tmp_path / "noops.jsonl", rows)])
    text_only = run_dedup(workspace, config=DedupConfig(code_decides=False))
    assert [len(c.members) for c in text_only.clusters] == [3]
    decided = run_dedup(workspace)
    assert [len(c.members) for c in decided.clusters] == [2] and decided.code_decided == 2
    assert "2 text-similar pair(s) kept apart" in render_report(workspace, decided.id, "md")
