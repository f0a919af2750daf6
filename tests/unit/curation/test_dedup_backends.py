"""The embedding backends derived locally, once, from the shipped MiniLM (no download): the static
distillate, the ONNX Runtime int8 export and the NNCF/OpenVINO int8 model; and what every backend
shares (each distinct text embedded once per run, an index per model recipe)."""

import shutil

import numpy as np
import pytest

from curation.dedup.embeddings import default_model_path, embed
from curation.dedup.run import DedupConfig, index_dir, run_dedup
from curation.dedup.static_embed import StaticModel, static_model_dir
from curation.importers import import_file
from curation.store import StoreError
from curation.workspace import Workspace
from tests.factories import PARAPHRASE_A, PARAPHRASE_A2, PARAPHRASE_Q, chat_row, write_jsonl

UNRELATED = ("How do I wait for VBlank?", "Poll bit 7 of $4212 (HVBJOY) until it is set.")


@pytest.fixture(scope="session")
def distilled(tmp_path_factory) -> StaticModel:
    """The real distillation of the real MiniLM (a minute on two cores), once per session."""
    return StaticModel.materialise(tmp_path_factory.mktemp("models"), default_model_path())


def _install_static(workspace, model: StaticModel) -> None:
    """Put the session's distilled model where this workspace looks for it, as if distilled here."""
    models = workspace.paths.models
    models.mkdir(parents=True)
    shutil.copytree(model.folder, static_model_dir(models, default_model_path()))


def test_the_static_model_ranks_a_paraphrase_above_an_unrelated_answer_as_minilm_does(distilled):
    texts = [f"{PARAPHRASE_Q}\n{PARAPHRASE_A}", f"{PARAPHRASE_Q}\n{PARAPHRASE_A2}", "\n".join(UNRELATED)]
    texts = [t.lower() for t in texts]
    static = distilled.embed(texts)
    assert static.shape == (3, distilled.dim) and np.allclose(np.linalg.norm(static, axis=1), 1.0, atol=1e-5)
    sims, reference = static @ static.T, embed(texts) @ embed(texts).T
    assert sims[0, 1] > 0.9 and sims[0, 1] - sims[0, 2] > 0.15
    assert (sims[0, 1] > sims[0, 2]) == (reference[0, 1] > reference[0, 2])
    # Batching does not change a text's vector, and an empty text is a zero vector, not NaN.
    assert np.allclose(distilled.embed([*texts[:1], "", *texts[1:]], batch_size=2)[[0, 2, 3]], static, atol=1e-6)
    assert not np.isnan(distilled.embed([""])).any()


def test_a_dedup_run_with_the_static_backend_finds_paraphrases_incrementally(workspace, tmp_path, distilled):
    rows = [chat_row(PARAPHRASE_Q, PARAPHRASE_A), chat_row(PARAPHRASE_Q, PARAPHRASE_A2), chat_row(*UNRELATED)]
    import_file(workspace, write_jsonl(tmp_path / "p.jsonl", rows))
    _install_static(workspace, distilled)

    config = DedupConfig(methods=("embedding",), embedding_backend="static", embedding_threshold=0.9)
    run = run_dedup(workspace, config=config)
    assert [len(c.members) for c in run.clusters] == [2]
    assert config.params_key("embedding") != DedupConfig().params_key("embedding")  # its own index
    assert (index_dir(workspace, "embedding", config.params_key("embedding")) / "vectors.faiss").exists()
    assert not index_dir(workspace, "embedding", DedupConfig().params_key("embedding")).exists()
    again = run_dedup(workspace, config=config)
    assert again.indexed == {"embedding": 0} and len(again.clusters) == 1


def test_an_exact_twin_reuses_its_vector_instead_of_another_model_pass(
    store, workspace, tmp_path, distilled, monkeypatch
):
    """Two rows equal after normalisation (case, spacing) are embedded once, and pair at cosine 1."""
    import curation.dedup.static_embed as static_embed

    twin = chat_row(PARAPHRASE_Q.upper(), "  " + PARAPHRASE_A.replace(" ", "   "))
    rows = [chat_row(PARAPHRASE_Q, PARAPHRASE_A), twin, chat_row(*UNRELATED)]
    import_file(workspace, write_jsonl(tmp_path / "t.jsonl", rows))
    _install_static(workspace, distilled)
    seen: list[str] = []
    real_embed = static_embed.StaticModel.embed

    def counting_embed(self, texts):
        seen.extend(texts)
        return real_embed(self, texts)

    monkeypatch.setattr(static_embed.StaticModel, "embed", counting_embed)

    config = DedupConfig(methods=("embedding",), embedding_backend="static", embedding_threshold=0.99)
    run = run_dedup(workspace, config=config)
    assert len(seen) == 2 and len(set(seen)) == 2  # three revisions, two distinct texts
    assert [len(c.members) for c in run.clusters] == [2]
    (pair,) = store.con.execute("SELECT similarity FROM dedup_pairs WHERE method = 'embedding'").fetchall()
    assert pair[0] == pytest.approx(1.0, abs=1e-6)


def test_a_cached_static_model_is_read_not_distilled_again(distilled, tmp_path, monkeypatch):
    import curation.dedup.static_embed as static_embed

    models = tmp_path / "models"
    shutil.copytree(distilled.folder, static_model_dir(models, default_model_path()))
    monkeypatch.setattr(static_embed, "distill", lambda *a, **k: pytest.fail("distilled again"))
    again = StaticModel.materialise(models, default_model_path())
    assert np.array_equal(again.vectors, distilled.vectors)


def test_unknown_embedding_backend_is_refused():
    with pytest.raises(StoreError, match="unknown embedding backend"):
        DedupConfig(embedding_backend="word2vec")


# --- int8 ONNX export of the same MiniLM ----------------------------------------------------------------


@pytest.fixture(scope="session")
def exported(tmp_path_factory):
    from curation.dedup.onnx_embed import OnnxModel

    return OnnxModel.materialise(tmp_path_factory.mktemp("onnx-models"), default_model_path())


def test_the_int8_export_gives_minilms_vectors_up_to_quantisation(exported):
    texts = [f"{PARAPHRASE_Q}\n{PARAPHRASE_A}", f"{PARAPHRASE_Q}\n{PARAPHRASE_A2}", "\n".join(UNRELATED), "", "lda"]
    texts = [t.lower() for t in texts] + [" ".join(["word"] * 600)]  # past the 256-token truncation
    fast, reference = exported.embed(texts, batch_size=2), embed(texts)
    assert fast.shape == reference.shape
    assert np.min(np.sum(fast * reference, axis=1)) > 0.97  # cosine to the float model's own vector
    sims = fast @ fast.T
    assert sims[0, 1] > 0.85 > sims[0, 2]
    # Activations are quantised per batch, so a batch's make-up moves a vector, but only slightly.
    assert np.min(np.sum(exported.embed(texts[:3]) * fast[:3], axis=1)) > 0.99


def test_a_dedup_run_with_the_onnx_backend_clusters_the_paraphrase(workspace, tmp_path, exported):
    from curation.dedup.onnx_embed import onnx_model_dir

    rows = [chat_row(PARAPHRASE_Q, PARAPHRASE_A), chat_row(PARAPHRASE_Q, PARAPHRASE_A2), chat_row(*UNRELATED)]
    import_file(workspace, write_jsonl(tmp_path / "p.jsonl", rows))
    models = workspace.paths.models
    shutil.copytree(exported.folder, onnx_model_dir(models, default_model_path()))  # as if exported here
    config = DedupConfig(methods=("embedding",), embedding_backend="onnx-int8", embedding_threshold=0.85)
    run = run_dedup(workspace, config=config)
    assert [len(c.members) for c in run.clusters] == [2]
    assert (index_dir(workspace, "embedding", config.params_key("embedding")) / "vectors.faiss").exists()


@pytest.fixture(scope="session")
def openvino_exported(tmp_path_factory):
    from curation.dedup.openvino_embed import OpenVinoModel

    return OpenVinoModel.materialise(tmp_path_factory.mktemp("openvino-models"), default_model_path())


def test_the_openvino_int8_model_gives_minilms_vectors_whatever_the_batch(openvino_exported):
    texts = [f"{PARAPHRASE_Q}\n{PARAPHRASE_A}", f"{PARAPHRASE_Q}\n{PARAPHRASE_A2}", "\n".join(UNRELATED), "", "lda"]
    texts = [t.lower() for t in texts] + [" ".join(["word"] * 600)]  # past the 256-token truncation
    fast, reference = openvino_exported.embed(texts, batch_size=2), embed(texts)
    assert fast.shape == reference.shape and openvino_exported.dim == reference.shape[1]
    own = np.sum(fast * reference, axis=1)  # cosine to the float model's own vector
    assert np.min(own) > 0.97 and np.min(np.delete(own, 3)) > 0.99  # the empty text (3) moves most
    sims = fast @ fast.T
    assert sims[0, 1] > 0.85 > sims[0, 2]
    # Activation scales are fixed at export: a text's vector does not depend on its batch.
    assert np.allclose(openvino_exported.embed(texts[:3], batch_size=16), fast[:3], atol=1e-4)


def test_a_dedup_run_with_the_openvino_backend_clusters_the_paraphrase(workspace, tmp_path, openvino_exported):
    from curation.dedup.openvino_embed import openvino_model_dir

    rows = [chat_row(PARAPHRASE_Q, PARAPHRASE_A), chat_row(PARAPHRASE_Q, PARAPHRASE_A2), chat_row(*UNRELATED)]
    import_file(workspace, write_jsonl(tmp_path / "p.jsonl", rows))
    models = workspace.paths.models
    shutil.copytree(openvino_exported.folder, openvino_model_dir(models, default_model_path()))
    config = DedupConfig(methods=("embedding",), embedding_backend="openvino-int8", embedding_threshold=0.85)
    run = run_dedup(workspace, config=config)
    assert [len(c.members) for c in run.clusters] == [2]
    assert config.params_key("embedding") not in {DedupConfig().params_key("embedding")}
    assert (index_dir(workspace, "embedding", config.params_key("embedding")) / "vectors.faiss").exists()


def test_twins_across_chunks_and_past_the_hnsw_switch_reuse_the_indexed_vector(tmp_path):
    """_VectorsByText on a real index that turns HNSW after one vector, saved and reloaded mid-run."""
    from curation.dedup.index import EmbeddingIndex
    from curation.dedup.run import _VectorsByText

    rng = np.random.default_rng(0)
    calls: list[list[str]] = []

    def model(texts: list[str]) -> np.ndarray:
        calls.append(list(texts))
        vectors = rng.normal(size=(len(texts), 8)).astype(np.float32)
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)

    index = EmbeddingIndex(8, exact_up_to=1)
    once = _VectorsByText(index)
    first = once.embed(["a", "b"], ["same text", "other"], model)
    assert index.approximate and calls == [["same text", "other"]]
    index.save(tmp_path / "ix")
    once.index = reloaded = EmbeddingIndex.load(tmp_path / "ix")
    second = once.embed(["c", "d", "e"], ["same text", "new", "new"], model)
    assert calls[1:] == [["new"]]  # the twin of "a" and the repeat inside the chunk cost no model call
    assert np.allclose(second[0], first[0], atol=1e-6) and np.allclose(second[1], second[2])
    assert np.allclose(reloaded.vector("c"), first[0], atol=1e-6) and len(reloaded) == 5


def test_a_new_model_recipe_gets_an_index_of_its_own(monkeypatch):
    import curation.dedup.openvino_embed as openvino_embed

    config = DedupConfig(methods=("embedding",), embedding_backend="openvino-int8")
    before = config.params_key("embedding")
    monkeypatch.setattr(openvino_embed, "VERSION", openvino_embed.VERSION + 1)
    assert config.params_key("embedding") != before
    assert before != DedupConfig(methods=("embedding",), embedding_backend="onnx-int8").params_key("embedding")


def test_importing_nncf_starts_no_telemetry(tmp_path):
    """NNCF would write a client id and usage counts under ~/intel at import: nothing is written."""
    import os
    import subprocess
    import sys

    code = "from curation.dedup.openvino_embed import _nncf_without_telemetry as f; f(); print('ok')"
    env = {**os.environ, "HOME": str(tmp_path)}
    env.pop("NNCF_CI", None)
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert done.stdout.strip().endswith("ok"), done.stderr[-2000:]
    assert list(tmp_path.iterdir()) == []


def _paraphrase_corpus() -> list[dict]:
    """Three answered questions, each in two wordings, and unrelated rows around them."""
    pairs = [
        (PARAPHRASE_Q, PARAPHRASE_A, PARAPHRASE_A2),
        ("Why does my DMA to VRAM write garbage?",
         "The DMA runs outside VBlank without force blank, so the PPU ignores the writes to VRAM.",
         "Your transfer happens while the screen is drawing and force blank is off: VRAM rejects the writes."),
        ("Why does PLA return the wrong value after my JSR?",
         "The routine pushes two bytes and pulls one, so RTS returns to an address built from your data.",
         "It pushes twice and pulls once; the return address RTS takes is made of the bytes you pushed."),
    ]  # fmt: skip
    rows = [chat_row(q, a) for q, a, _ in pairs] + [chat_row(q, b) for q, _, b in pairs]
    others = [
        ("How do I wait for VBlank?", "Poll bit 7 of $4212 (HVBJOY) until it is set."),
        ("What does MVN do?", "It copies a block of bytes, X source, Y destination, A count minus one."),
        ("Which register sets the screen brightness?", "INIDISP ($2100): bits 0-3 are the brightness."),
        ("How do I multiply by 4?", "Shift left twice with ASL A; each shift doubles the value."),
    ]
    return rows + [chat_row(q, a) for q, a in others]


def test_the_cascade_finds_what_minilm_alone_finds_and_embeds_only_candidates(
    workspace, tmp_path, distilled, monkeypatch
):
    import curation.dedup.embeddings as embeddings

    import_file(workspace, write_jsonl(tmp_path / "p.jsonl", _paraphrase_corpus()))
    _install_static(workspace, distilled)
    threshold = 0.8
    alone = run_dedup(workspace, config=DedupConfig(methods=("embedding",), embedding_threshold=threshold))
    minilm_pairs = {frozenset(c.members) for c in alone.clusters}
    assert len(minilm_pairs) == 3  # each question's two wordings, nothing else

    embedded: list[int] = []
    real_embed = embeddings.embed
    monkeypatch.setattr(
        embeddings, "embed", lambda texts, *a, **k: embedded.append(len(texts)) or real_embed(texts, *a, **k)
    )
    config = DedupConfig(
        methods=("embedding",), embedding_backend="cascade", embedding_threshold=threshold,
        cascade_threshold=0.85, cascade_decider="minilm",
    )  # fmt: skip
    cascade = run_dedup(workspace, config=config)
    assert {frozenset(c.members) for c in cascade.clusters} == minilm_pairs
    # MiniLM embedded only the documents the static stage proposed - not the whole corpus.
    assert 6 <= sum(embedded) < 10
    again = run_dedup(workspace, config=config)  # incremental: nothing new, nothing embedded again
    assert again.indexed == {"embedding": 0} and sum(embedded) < 10


def test_the_cascade_decider_is_the_fastest_backend_here_measured_once(tmp_path):
    import time as clock

    from curation.dedup.cascade import choose_decider

    calls: list[str] = []

    def backend(name: str, seconds: float):
        def embed(texts: list[str]) -> np.ndarray:
            calls.append(name)
            clock.sleep(seconds)
            return np.zeros((len(texts), 4), dtype=np.float32)

        return embed

    def broken(texts: list[str]) -> np.ndarray:
        raise RuntimeError("OpenVINO is not installed here")

    embedders = {"minilm": backend("minilm", 0.05), "onnx-int8": backend("onnx-int8", 0.01), "openvino-int8": broken}
    assert choose_decider(tmp_path, embedders, ["a text"] * 4) == "onnx-int8"
    assert (tmp_path / "cascade-decider.json").is_file()
    calls.clear()
    assert choose_decider(tmp_path, embedders, ["a text"] * 4) == "onnx-int8" and calls == []  # read, not re-timed


def test_a_cascade_with_no_candidates_embeds_nothing_with_minilm(workspace, tmp_path, distilled, monkeypatch):
    import curation.dedup.embeddings as embeddings

    import_file(workspace, write_jsonl(tmp_path / "u.jsonl", [chat_row(*UNRELATED)]))
    _install_static(workspace, distilled)
    monkeypatch.setattr(embeddings, "embed", lambda *a, **k: pytest.fail("MiniLM ran without a candidate"))
    config = DedupConfig(methods=("embedding",), embedding_backend="cascade", cascade_decider="minilm")
    assert run_dedup(workspace, config=config).clusters == []
    assert run_dedup(workspace, config=config).indexed == {"embedding": 0}


def _field_texts(workspace) -> list[str]:
    """The dedup texts of the real field samples (imported into ``workspace``): the domain a tuned model is fit on."""
    from curation.dedup.run import CorpusTexts
    from curation.paths import FIELD_TRAINING_FILES, field_data_dir

    for name in FIELD_TRAINING_FILES:
        import_file(workspace, field_data_dir() / name)
    return sorted(set(CorpusTexts(workspace, DedupConfig()).texts(workspace.samples.all_ids())))


def test_a_tuned_static_model_tracks_its_teacher_on_texts_it_was_not_fit_on(workspace, distilled):
    from curation.dedup.cascade import split_by_zone
    from curation.dedup.tuned_static import Agreement, fit_token_vectors

    texts = _field_texts(workspace)
    assert len(texts) >= 150
    teacher = embed(texts)
    is_held = np.arange(len(texts)) % 5 == 0  # a fifth held out of the fit
    held = [t for t, h in zip(texts, is_held, strict=True) if h]
    fit = [t for t, h in zip(texts, is_held, strict=True) if not h]
    vectors = fit_token_vectors(distilled, fit, teacher[~is_held], truncate_at=256)
    tuned = distilled.bags(held, 256)[0] @ vectors
    tuned /= np.linalg.norm(tuned, axis=1, keepdims=True)
    upper = np.triu_indices(len(held), 1)
    truth = (teacher[is_held] @ teacher[is_held].T)[upper]
    tuned_r = np.corrcoef((tuned @ tuned.T)[upper], truth)[0, 1]
    distilled_vectors = distilled.embed(held)
    distilled_r = np.corrcoef((distilled_vectors @ distilled_vectors.T)[upper], truth)[0, 1]
    assert tuned_r > distilled_r + 0.1, (tuned_r, distilled_r)  # 0.80 against 0.64 when written

    # The zones read from agreement: propose where 95% of the teacher's pairs are, accept where it agrees.
    rng = np.random.default_rng(0)
    teacher_cos = rng.uniform(0.5, 1.0, 2000).astype(np.float32)
    static_cos = np.clip(teacher_cos + rng.normal(0, 0.02, 2000), 0, 1).astype(np.float32)
    propose, accept = Agreement(static_cos, teacher_cos, 0.9).zones(0.9)
    assert 0.9 - 0.15 <= propose < 0.9 and (static_cos[teacher_cos >= 0.9] >= propose).mean() >= 0.95
    assert accept is not None and accept > 0.9 and (teacher_cos[static_cos >= accept] >= 0.9).mean() >= 0.995
    assert Agreement(static_cos, rng.permutation(teacher_cos), 0.0).zones(0.9)[1] is None  # no agreement: decide all
    # Pairs in the accept zone skip the decider; None accepts nothing.
    candidates = {("a", "b"): 0.99, ("a", "c"): 0.91, ("b", "c"): 0.97}
    assert split_by_zone(candidates, 0.97) == ([("a", "b", 0.99), ("b", "c", 0.97)], [("a", "c")])
    assert split_by_zone(candidates, None) == ([], [("a", "b"), ("a", "c"), ("b", "c")])


def test_the_cascade_tunes_its_static_model_on_the_workspace_and_finds_what_minilm_finds(
    workspace, tmp_path, distilled, monkeypatch
):
    from dataclasses import replace

    import curation.dedup.embeddings as embeddings
    import curation.dedup.tuned_static as tuned_static

    monkeypatch.setattr(tuned_static, "MIN_TEXTS", 30)
    monkeypatch.setattr(tuned_static, "TRAIN_TEXTS", 40)  # a fit on 40 of the corpus's 70 samples
    with Workspace(tmp_path / "field") as other:
        field = [chat_row(f"Sample {i}", text) for i, text in enumerate(_field_texts(other)[:88])]
    import_file(workspace, write_jsonl(tmp_path / "a.jsonl", field[:60] + _paraphrase_corpus()))
    _install_static(workspace, distilled)
    threshold = 0.8
    alone = {
        frozenset(c.members)
        for c in run_dedup(
            workspace, config=DedupConfig(methods=("embedding",), embedding_threshold=threshold)
        ).clusters
    }
    assert len(alone) >= 3  # the three paraphrased answers at least

    embedded: list[int] = []
    real_embed = embeddings.embed
    monkeypatch.setattr(
        embeddings, "embed", lambda texts, *a, **k: embedded.append(len(texts)) or real_embed(texts, *a, **k)
    )
    config = DedupConfig(
        methods=("embedding",), embedding_backend="cascade", embedding_threshold=threshold, cascade_decider="minilm"
    )
    run = run_dedup(workspace, config=config)
    assert {frozenset(c.members) for c in run.clusters} == alone
    stages = run.cascade
    assert stages["first_stage"] == "tuned" and stages["fit_now"] and stages["fit_on"] == 40
    # The teaching sample's vectors decide too: no sample is embedded twice.
    assert stages["propose"] <= threshold and stages["decider_embedded"] == sum(embedded) <= 70
    assert 0.0 < stages["agreement"]["cosine_correlation"] <= 1.0
    models = workspace.paths.models
    assert len(list(models.glob("tuned-*"))) == 1

    again = run_dedup(workspace, config=config)  # incremental: no new sample, no fit, nothing embedded
    assert (
        again.indexed == {"embedding": 0}
        and not again.cascade["fit_now"]
        and sum(embedded) == stages["decider_embedded"]
    )

    # "tuned": the same model decides alone at the threshold - no refit, no decider, every candidate kept.
    alone_tuned = run_dedup(workspace, config=replace(config, embedding_backend="tuned")).cascade
    assert not alone_tuned["fit_now"] and alone_tuned["decided"] == 0 and alone_tuned["propose"] == threshold
    assert (
        alone_tuned["accepted_by_static"] == alone_tuned["candidates"] and sum(embedded) == stages["decider_embedded"]
    )

    import_file(workspace, write_jsonl(tmp_path / "b.jsonl", field[60:]))  # 70 -> 98 samples: not yet twice the size
    assert not run_dedup(workspace, config=config).cascade["fit_now"]
    import_file(
        workspace,
        write_jsonl(
            tmp_path / "c.jsonl",
            [
                chat_row(f"Question {i} about {w}?", f"Answer {i}: {w} matters.")
                for i, w in enumerate(["DMA", "HDMA", "VRAM", "OAM", "CGRAM"] * 9)
            ],
        ),
    )
    refit = run_dedup(workspace, config=config)  # 143 samples, twice the 70 it was fit on: fit again, indexed again
    assert refit.cascade["fit_now"] and refit.indexed == {"embedding": 143}
