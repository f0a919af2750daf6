"""``triforge experiment``: arms trained under one plan, evaluated on the same cases, resumable, reported."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from curation.workspace import Workspace
from trainer.gates import DEFAULT_SUITE
from triforge.cli import app


@pytest.fixture
def arms(validated_store_file: Path, home: Path) -> Path:
    """Two snapshots of the field data: optimisations that pass validation, and the imported debugging dialogues."""
    import shutil

    home.mkdir(parents=True, exist_ok=True)
    path = home / "triforge.duckdb"
    shutil.copyfile(validated_store_file, path)
    with Workspace(home) as workspace:
        workspace.snapshots.create("clean", "validation = passed and kind = asm_optimize")
        workspace.snapshots.create("raw", "kind = debug_dialogue and source_type = import")
    return path


def _args(name: str, tiny_model: Path, tmp_path: Path, *extra: str, steps: int = 2) -> list[str]:
    config = tmp_path / "train.toml"
    config.write_text("[train]\nmax_length = 128\nper_device_batch_size = 2\n")
    return [
        "experiment", "run", name, "--snapshot", "curated=clean", "--snapshot", "noisy=raw", "--steps", str(steps),
        "--base-model", str(tiny_model), "--config", str(config), "--suite", str(DEFAULT_SUITE), "--limit", "1",
        "--max-new-tokens", "4", *extra,
    ]  # fmt: skip


def test_an_experiment_resumes_after_a_crash_and_reports_every_metric(arms, tiny_model, tmp_path, monkeypatch):
    import trainer.sft

    runner = CliRunner()
    real_train = trainer.sft.train
    calls: list[str] = []

    def crashing_train(workspace, snapshot_ref, **kw):
        calls.append(str(kw["out"]))
        if "noisy" in str(kw["out"]):
            raise RuntimeError("killed mid-training")
        return real_train(workspace, snapshot_ref, **kw)

    monkeypatch.setattr(trainer.sft, "train", crashing_train)
    first = runner.invoke(app, _args("cv", tiny_model, tmp_path))
    assert first.exit_code != 0 and isinstance(first.exception, RuntimeError)
    status = json.loads(runner.invoke(app, ["experiment", "status", "cv", "--json"]).stdout)
    states = {s["step"]: s["status"] for s in status}
    assert states == {"eval:base": "done", "train:curated:seed0": "done", "eval:curated:seed0": "done",
                      "train:noisy:seed0": "failed"}  # fmt: skip
    assert "killed mid-training" in next(s["error"] for s in status if s["status"] == "failed")

    # Resuming runs only what did not finish: the base is not evaluated again, curated not retrained.
    monkeypatch.setattr(trainer.sft, "train", real_train)
    second = runner.invoke(app, [*_args("cv", tiny_model, tmp_path), "--json"])
    assert second.exit_code == 0, second.output
    report = json.loads(second.stdout)
    with Workspace(arms.parent, read_only=True) as workspace:
        evaluated = workspace.evals.models()
        trained = workspace.training_runs.count()
        ledger = workspace.experiments.steps("cv")
    # The crashed step was retried and the ones before it kept their first (and only) run.
    assert all(r.done for r in ledger.values()) and len(ledger) == 5
    assert ledger["train:noisy:seed0"].data["adapter_dir"].endswith("exp-cv-noisy-seed0")
    assert len(evaluated) == 3 and evaluated[0] == "tiny-llama" and trained == 2
    assert report["complete"] and report["pending_steps"] == []
    assert set(report["models"]) == {"base", "curated", "noisy"}
    assert [(c["a"], c["b"]) for c in report["comparisons"]] == [("base", "curated"), ("base", "noisy"),
                                                                   ("noisy", "curated")]  # fmt: skip
    assert report["cases"]["counted"] == 7  # --limit 1: one case from each of the 7 bundled suites
    for metric in ("keyword_word", "diagnosis_first", "assembles", "no_anti_patterns"):
        assert report["models"]["curated"][metric]["n"] > 0
        comparison = report["comparisons"][-1]["metrics"][metric]
        assert comparison["low"] <= comparison["mean"] <= comparison["high"] and "verdict" in comparison
    lineage = {a["label"]: a for a in report["arms"]}
    assert lineage["curated"]["snapshot"]["name"] == "clean" and lineage["curated"]["kinds"] == {
        "asm_optimize": lineage["curated"]["snapshot"]["members"]
    }
    # The noisy arm fails its gates (legacy answers fail validation); it trains anyway and says so.
    assert lineage["noisy"]["runs"][0]["overridden_blockers"]
    assert lineage["noisy"]["validation_passed"] < lineage["noisy"]["snapshot"]["members"]
    run = lineage["curated"]["runs"][0]
    assert run["metrics"]["steps"] == 2 and len(run["losses"]) == 2 and run["metrics"]["loss_start"] > 0

    html = Path(report["report_files"][1]).read_text()
    assert html.count("<svg") == len(report["metrics"]) + 1  # a bar chart per metric and the loss curves
    assert "noisy - base" in html and "curated - noisy" in html and lineage["noisy"]["snapshot"]["id"] in html

    # Everything is done: a third run trains and evaluates nothing, and the report can be rebuilt alone.
    third = runner.invoke(app, _args("cv", tiny_model, tmp_path))
    assert third.exit_code == 0 and "every step was already done" in third.output
    rebuilt = runner.invoke(app, ["experiment", "report", "cv", "--json"])
    assert json.loads(rebuilt.stdout)["models"] == report["models"]


def test_a_rerun_with_other_settings_is_refused(arms, tiny_model, tmp_path):
    runner = CliRunner()
    assert runner.invoke(app, _args("cv2", tiny_model, tmp_path)).exit_code == 0
    changed = runner.invoke(app, _args("cv2", tiny_model, tmp_path, steps=3))
    assert changed.exit_code == 2 and "other settings (steps)" in changed.output
    missing = runner.invoke(app, ["experiment", "run", "nope"])
    assert missing.exit_code == 2 and "give --snapshot" in missing.output
