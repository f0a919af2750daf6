"""``triforge loop``: one Strategy-4 round with the real SmolLM2, stopped for reviews, killed mid-training,
resumed - and the next round proposes with the adapter the first one trained."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from curation.workspace import Workspace
from pipelines.generate import run_generator
from pipelines.loop import Proposed, Reviewed, RoundLedger
from tests.dialogues import GOOD_ANSWER
from tests.factories import TRIFORGE
from triforge.cli import app


def _loop_args(base: Path, config: Path) -> list[str]:
    return [
        "loop", "--n", "3", "--base-model", str(base), "--config", str(config), "--max-steps", "1",
        "--eval-limit", "1", "--max-new-tokens", "8", "--proposal-tokens", "16", "--no-wait", "--json",
    ]  # fmt: skip


def test_a_loop_round_waits_for_reviews_resumes_after_a_kill_and_feeds_the_next_round(home, smollm2_home, tmp_path):
    with Workspace(home) as workspace:
        run_generator(workspace, "bug_injection", 12, seed=1)
        seeds = [s["id"] for s in workspace.samples.list("validation = passed", limit=6)]
        workspace.samples.set_status(seeds, "approved", actor="expert:ada")
    config = tmp_path / "small.toml"
    config.write_text("max_length = 256\nper_device_batch_size = 1\ngradient_accumulation_steps = 1\n")
    base = smollm2_home / "models" / "smollm2-135m-instruct"
    args = _loop_args(base, config)
    runner = CliRunner()

    # 1. Propose with the base model, put the proposals in review, stop (--no-wait).
    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    assert json.loads(first.stdout)[0] | {"report": None} == {"round": 1, "finished": False, "report": None,
                                                               "waiting_for": 3}  # fmt: skip
    with Workspace(home, read_only=True) as workspace:
        ids = workspace.experiments.loop_steps(1)["propose"].data["ids"]  # in task order (one request at a time)
        proposals = [(i, workspace.samples.get(i).status) for i in ids]
        assert [s for _, s in proposals] == ["in_review"] * 3
        assert workspace.samples.count("source_type = bootstrap") == 3
    # 2. Experts decide: approve one, correct one (and approve the correction), reject one.
    with Workspace(home) as workspace:
        samples = workspace.samples
        samples.set_status([proposals[0][0]], "approved", actor="expert:ada")
        child = samples.correct(proposals[1][0], actor="expert:bo", answer=GOOD_ANSWER, category="mode_mismatch")
        samples.set_status([child], "approved", actor="expert:bo")  # validated by the loop before it snapshots
        samples.set_status([proposals[2][0]], "rejected", actor="expert:ada")

    # 3. Resume; kill it while it trains.
    env = {**os.environ, "TRIFORGE_HOME": str(home)}
    proc = subprocess.Popen([TRIFORGE, *args], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    started = home / "adapters" / "loop-r1" / "data"
    deadline = time.monotonic() + 300
    while not started.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert proc.poll() is None, "the round finished before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    with Workspace(home, read_only=True) as workspace:
        states = {k: r.status for k, r in workspace.experiments.loop_steps(1).items()}
    assert states == {"propose": "done", "review": "done", "snapshot": "done", "train": "running"}

    # 4. Run again: it resumes at train and finishes the round; nothing before it runs twice.
    done = runner.invoke(app, args)
    assert done.exit_code == 0, done.output
    outcome = json.loads(done.stdout)[0]
    report = outcome["report"]
    assert outcome["finished"] is True and report["round"] == 1
    assert (report["proposed"], report["approved_this_round"], report["approved_after_correction"]) == (3, 1, 1)
    assert report["decisions"] == {"approved": 1, "superseded": 1, "rejected": 1}
    with Workspace(home, read_only=True) as workspace:
        assert workspace.samples.count("source_type = bootstrap") == 3
        provenance = workspace.samples.get(child).revision.provenance
        assert (provenance.source_type.value, provenance.source_name) == ("expert", "expert:bo")
        assert workspace.training_runs.count() == 1
        assert [s.name for s in workspace.snapshots.list()] == ["loop-r1"]
        members = set(workspace.snapshots.member_ids("loop-r1"))
        evals = workspace.evals.count()
        states = {k: r.status for k, r in workspace.experiments.loop_steps(1).items()}
    # Approved, valid and no duplicate: the corrected answer and the seeds dedup kept (bug-injection siblings
    # are near duplicates of each other); not the rejected one, nor the approved one that fails validation.
    assert child in members and members - {child} <= set(seeds) and len(members) >= 2
    assert proposals[2][0] not in members and proposals[0][0] not in members
    assert evals == 2 and set(states.values()) == {"done"} and len(states) == 6
    assert report["eval"]["baseline"] != report["eval"]["adapter"]
    lineage = json.loads(runner.invoke(app, ["lineage", report["adapter"]["adapter_dir"], "--json"]).stdout)
    assert {r["reviewer"] for r in lineage["reviewers"]} == {"expert:ada", "expert:bo"}

    # 5. The next round proposes with the adapter round 1 trained.
    second = runner.invoke(app, args)
    assert json.loads(second.stdout)[0]["round"] == 2
    with Workspace(home, read_only=True) as workspace:
        assert workspace.experiments.loop_steps(2)["propose"].data["model"] == report["adapter"]["adapter_dir"]
    status = runner.invoke(app, ["loop", "--status"])
    assert status.exit_code == 0 and "waiting" in status.output


def test_the_round_ledger_runs_a_step_once_reruns_a_crashed_one_and_opens_the_next_round(home):
    """The ledger alone (no model): finished steps come back typed from the store, a crash is recorded and
    retried, a step that returns nothing stays open, and a round whose report is done is followed by a new one."""
    workspace = Workspace(home)
    ledger = RoundLedger(workspace)
    assert ledger.round == 1 and not workspace.is_open  # the store is open only while a step records
    made = Proposed("smollm2", "b1", ["x", "y"], valid=1, failed=0)
    assert ledger.run("propose", Proposed, lambda: made) == made

    def crash() -> Reviewed:
        raise RuntimeError("argilla went away")

    with pytest.raises(RuntimeError):
        ledger.run("review", Reviewed, crash)
    assert ledger.run("review", Reviewed, lambda: None) is None  # e.g. still waiting for experts

    again = RoundLedger(workspace)
    assert again.round == 1 and again.run("propose", Proposed, lambda: pytest.fail("ran twice")) == made
    with Workspace(home, read_only=True) as reader:
        rows = reader.experiments.loop_steps(1)
    assert rows["review"].status == "running" and rows["propose"].data["ids"] == ["x", "y"]
    assert again.run("review", Reviewed, lambda: Reviewed({"approved": 2}, "store")).decisions == {"approved": 2}
    again.save("report", "done", {})
    following = RoundLedger(workspace)
    assert following.round == 2 and following.previous("propose", Proposed) == made
