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
    import pipelines.experiment.run as experiment_run  # patched where the experiment calls it

    runner = CliRunner()
    real_train = experiment_run.train
    calls: list[str] = []

    def crashing_train(workspace, snapshot_ref, **kw):
        calls.append(str(kw["out"]))
        if "noisy" in str(kw["out"]):
            raise RuntimeError("killed mid-training")
        return real_train(workspace, snapshot_ref, **kw)

    monkeypatch.setattr(experiment_run, "train", crashing_train)
    first = runner.invoke(app, _args("cv", tiny_model, tmp_path))
    assert first.exit_code != 0 and isinstance(first.exception, RuntimeError)
    status = json.loads(runner.invoke(app, ["experiment", "status", "cv", "--json"]).stdout)
    states = {s["step"]: s["status"] for s in status}
    assert states == {"eval:base": "done", "train:curated:seed0": "done", "eval:curated:seed0": "done",
                      "train:noisy:seed0": "failed"}  # fmt: skip
    assert "killed mid-training" in next(s["error"] for s in status if s["status"] == "failed")

    # Resuming runs only what did not finish: the base is not evaluated again, curated not retrained.
    monkeypatch.setattr(experiment_run, "train", real_train)
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
    measured = [m for m in report["metrics"] if any(report["models"][x][m]["n"] for x in report["models"])]
    assert html.count("<svg") == len(measured) + 1  # a bar chart per measured metric and the loss curves
    assert len(measured) < len(report["metrics"]) and "No case measures" in html
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


def _gold_file(tmp_path: Path) -> Path:
    """Two diagnosis-first answers nobody trains on (written here, in no snapshot)."""
    rows = [
        {"id": "g-width", "category": "mode_mismatch", "messages": [
            {"role": "user", "content": "Why does `LDA #$1234` after `SEP #$20` load the wrong value?"},
            {"role": "assistant", "content": "**Bug:** the accumulator is 8-bit, so `#$1234` is cut to `#$34`.\n"
             "**Fix:** `REP #$20` before the load, `SEP #$20` after."}]},
        {"id": "g-stack", "category": "stack_imbalance", "messages": [
            {"role": "user", "content": "My routine returns to garbage after `PHA`/`PHX` and one `PLA`."},
            {"role": "assistant", "content": "**Bug:** two pushes, one pull: RTS takes a pushed byte as the "
             "return address.\n**Fix:** pull what you pushed (`PLX` then `PLA`) before `RTS`."}]},
    ]  # fmt: skip
    path = tmp_path / "gold.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def _filter_args(name: str, tiny_model: Path, tmp_path: Path, *extra: str) -> list[str]:
    config = tmp_path / "train.toml"
    config.write_text("[train]\nmax_length = 128\nper_device_batch_size = 2\n")
    return [
        "experiment", "run", name, "--arm", "curated=validation = passed and kind = asm_optimize",
        "--arm", "diluted=kind != quest_implementation", "--steps", "1", "--base-model", str(tiny_model),
        "--config", str(config), "--suite", str(DEFAULT_SUITE), "--limit", "1", "--max-new-tokens", "2", *extra,
    ]  # fmt: skip


def test_arms_from_filters_are_frozen_at_one_size_and_scored_on_gold_answers(arms, tiny_model, tmp_path):
    runner = CliRunner()
    gold = _gold_file(tmp_path)
    args = _filter_args("fx", tiny_model, tmp_path, "--arm-size", "6", "--gold", str(gold))
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    with Workspace(arms.parent, read_only=True) as workspace:
        curated, diluted = workspace.snapshots.resolve("fx-curated"), workspace.snapshots.resolve("fx-diluted")
        kinds = {r.kind for r in workspace.snapshots.members(diluted.id)}
        optimize_passing = len(workspace.samples.list("validation = passed and kind = asm_optimize", limit=10_000))
    # Each arm is its filter's selection, cut to the same size by the experiment's seed.
    assert curated.member_count == diluted.member_count == 6
    assert f"a random 6 of {optimize_passing}, seed 0" in curated.where
    assert "quest_implementation" not in kinds
    plan_arms = report["plan"]["arms"]
    assert [(a["label"], a["size"]) for a in plan_arms] == [("curated", 6), ("diluted", 6)]

    # gold_nll: every model scores both gold answers; lower is better, so the verdict reads that way.
    for model in ("base", "curated", "diluted"):
        assert report["models"][model]["gold_nll"]["n"] == 2
        assert report["models"][model]["gold_nll"]["mean"] > 0
    assert report["comparisons"][-1]["metrics"]["gold_nll"]["n"] == 2

    # What is in each arm: where its samples came from and how they fare under each validator.
    lineage = {a["label"]: a for a in report["arms"]}
    assert sum(lineage["curated"]["source_names"].values()) == 6
    assert lineage["curated"]["validators"]["asm_assembles"]["judged"] == 6
    assert lineage["curated"]["validation_passed"] == 6

    # A rerun with the same arms resumes on the frozen snapshots; other arms under the name are refused.
    again = runner.invoke(app, args)
    assert again.exit_code == 0 and "every step was already done" in again.output
    other = runner.invoke(app, _filter_args("fx", tiny_model, tmp_path, "--arm-size", "5", "--gold", str(gold)))
    assert other.exit_code == 2 and "already exists with other arms" in other.output


def test_a_gold_set_that_overlaps_an_arm_is_refused(arms, tiny_model, tmp_path):
    runner = CliRunner()
    overlapping = runner.invoke(
        app, _filter_args("gx", tiny_model, tmp_path, "--gold", "kind = asm_optimize and validation = passed")
    )
    assert overlapping.exit_code == 2
    assert "gold case(s) are in arm curated's snapshot" in overlapping.output and "split < 20" in overlapping.output
    with Workspace(arms.parent, read_only=True) as workspace:
        assert workspace.experiments.plan_json("gx") is None  # nothing was planned, nothing trained

    # Held out by the prompt split, the same kind of samples are a gold set beside an arm that excludes
    # them - but templated prompts ("Optimize this 65816 code ...") can still be near-copies across the
    # split: refused, or with --drop-overlapping-gold scored without those cases.
    held_out_args = [
        "experiment", "run", "gy", "--arm", "curated=kind = asm_optimize and split >= 50",
        "--gold", "kind = asm_optimize and split < 50", "--steps", "1", "--base-model", str(tiny_model),
        "--config", str(tmp_path / "train.toml"), "--suite", str(DEFAULT_SUITE), "--limit", "1",
        "--max-new-tokens", "2", "--json",
    ]  # fmt: skip
    with Workspace(arms.parent, read_only=True) as workspace:
        held = workspace.samples.list("kind = asm_optimize and split < 50", limit=10_000)
        trained = workspace.samples.list("kind = asm_optimize and split >= 50", limit=10_000)
    assert held and trained and not {r["id"] for r in held} & {r["id"] for r in trained}
    refused = runner.invoke(app, held_out_args)
    dropped = runner.invoke(app, [*held_out_args, "--drop-overlapping-gold"])
    assert dropped.exit_code == 0, dropped.output
    report = json.loads(dropped.stdout)
    gold_cases = Path(report["plan"]["gold"]).read_text().splitlines()
    assert 0 < len(gold_cases) <= len(held) and len(gold_cases) == report["models"]["curated"]["gold_nll"]["n"]
    assert (refused.exit_code == 2) == (len(gold_cases) < len(held))  # refused exactly when some overlapped


def _comparison(gold: tuple[float, float, float], structure: tuple[float, float, float]) -> dict:
    def metric(mean_low_high: tuple[float, float, float], higher_is_better: bool) -> dict:
        from trainer.evaluation.stats import Interval

        interval = Interval(*mean_low_high, 8)
        return interval.as_dict() | {"verdict": interval.verdict(higher_is_better=higher_is_better)}

    return {
        "comparisons": [{"a": "diluted", "b": "curated",
                         "metrics": {"gold_nll": metric(gold, False), "diagnosis_first": metric(structure, True)}}],
        "arms": [{"label": "curated", "snapshot": {"members": 69}}, {"label": "diluted", "snapshot": {"members": 315}}],
    }  # fmt: skip


def test_the_demo_verdict_says_what_was_measured_and_what_was_not():
    from triforge.cli.demo import verdict_sentence

    lower_loss = verdict_sentence(_comparison((-0.15, -0.18, -0.12), (0.0, -0.1, 0.1)))
    assert "-0.150 [-0.18, -0.12]" in lower_loss and ": better" in lower_loss
    assert "no measurable change" in lower_loss and "69 curated" in lower_loss and "315 diluted" in lower_loss
    nothing = verdict_sentence(_comparison((-0.01, -0.05, 0.03), (0.0, -0.1, 0.1)))
    assert "budget is too small to measure" in nothing
    worse = verdict_sentence(_comparison((0.2, 0.1, 0.3), (0.0, -0.1, 0.1)))
    assert ": worse" in worse and "[yellow]" in worse


def test_the_report_shows_each_seeds_mean_and_their_range():
    from curation.resources.evals import CaseMetrics
    from pipelines.experiment.report import _seed_spread

    def run(values: list[float]) -> dict:
        return {("gold", f"c{i}"): CaseMetrics(None, {"gold_nll": v}, False) for i, v in enumerate(values)}

    keys = [("gold", "c0"), ("gold", "c1")]
    spread = _seed_spread({"curated": [run([1.0, 2.0]), run([2.0, 3.0])], "diluted": [run([3.0, 3.0])]}, keys,
                          ["curated", "diluted"])  # fmt: skip
    assert spread["curated"]["gold_nll"] == {"per_seed": [1.5, 2.5], "range": 1.0}
    assert "diluted" not in spread  # one seed: no spread to show
    assert "diagnosis_first" not in spread["curated"]  # a metric no case has
