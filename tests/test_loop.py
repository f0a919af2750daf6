"""``triforge loop``: one Strategy-4 round with the real SmolLM2, stopped for reviews, killed mid-training,
resumed - and the next round proposes with the adapter the first one trained."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

from typer.testing import CliRunner

from curation.samples import correct_sample, set_status
from curation.store import Store
from generators.run import run_generator
from tests.conftest import TRIFORGE
from tests.dialogues import GOOD_ANSWER
from triforge.cli import app


def _loop_args(base: Path, config: Path) -> list[str]:
    return [
        "loop", "--n", "3", "--base-model", str(base), "--config", str(config), "--max-steps", "1",
        "--eval-limit", "1", "--max-new-tokens", "8", "--proposal-tokens", "16", "--no-wait", "--json",
    ]  # fmt: skip


def test_a_loop_round_waits_for_reviews_resumes_after_a_kill_and_feeds_the_next_round(home, smollm2_home, tmp_path):
    db = home / "triforge.duckdb"
    with Store(db) as store:
        run_generator(store, "bug_injection", 12, seed=1)
        seeds = [
            r[0] for r in store.con.execute("SELECT id FROM samples WHERE validation = 'passed' LIMIT 6").fetchall()
        ]
        set_status(store, seeds, "approved", actor="expert:ada")
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
    with Store(db) as store:
        proposals = store.con.execute(
            "SELECT id, status FROM samples WHERE source_type = 'bootstrap' ORDER BY metadata->>'$.task.index'"
        ).fetchall()
        assert [s for _, s in proposals] == ["in_review"] * 3
        # 2. Experts decide: approve one, correct one (and approve the correction), reject one.
        set_status(store, [proposals[0][0]], "approved", actor="expert:ada")
        child = correct_sample(store, proposals[1][0], actor="expert:bo", answer=GOOD_ANSWER, category="mode_mismatch")
        set_status(store, [child], "approved", actor="expert:bo")  # validated by the loop before it snapshots
        set_status(store, [proposals[2][0]], "rejected", actor="expert:ada")

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
    with Store(db, read_only=True) as store:
        states = dict(store.con.execute("SELECT step, status FROM loop_steps WHERE round = 1").fetchall())
    assert states == {"propose": "done", "review": "done", "snapshot": "done", "train": "running"}

    # 4. Run again: it resumes at train and finishes the round; nothing before it runs twice.
    done = runner.invoke(app, args)
    assert done.exit_code == 0, done.output
    outcome = json.loads(done.stdout)[0]
    report = outcome["report"]
    assert outcome["finished"] is True and report["round"] == 1
    assert (report["proposed"], report["approved_this_round"], report["approved_after_correction"]) == (3, 1, 1)
    assert report["decisions"] == {"approved": 1, "superseded": 1, "rejected": 1}
    with Store(db, read_only=True) as store:
        assert store.con.execute("SELECT count(*) FROM samples WHERE source_type = 'bootstrap'").fetchone()[0] == 3
        assert store.con.execute("SELECT source_type, source_name FROM samples WHERE id = ?", [child]).fetchone() == (
            "expert",
            "expert:bo",
        )
        assert store.con.execute("SELECT count(*) FROM training_runs").fetchone()[0] == 1
        assert store.con.execute("SELECT name FROM snapshots").fetchall() == [("loop-r1",)]
        members = {r[0] for r in store.con.execute("SELECT revision_id FROM snapshot_members").fetchall()}
        evals = store.con.execute("SELECT count(*) FROM eval_runs").fetchone()[0]
        states = dict(store.con.execute("SELECT step, status FROM loop_steps WHERE round = 1").fetchall())
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
    with Store(db, read_only=True) as store:
        proposer = store.con.execute("SELECT data->>'$.model' FROM loop_steps WHERE round = 2 AND step = 'propose'")
        assert proposer.fetchone()[0] == report["adapter"]["adapter_dir"]
    status = runner.invoke(app, ["loop", "--status"])
    assert status.exit_code == 0 and "waiting" in status.output
