"""Does curation make a better model? A curated snapshot against a noisy one, same budget, same evals.

The pool is the field's training files (``../shared/data/field``; farore_benchmark.jsonl is held out as
an eval suite) plus template proposals (``bug_injection``, which include near-duplicates of each other)
and, where the content allows, deterministic repairs of the field's legacy ``**Bug:** ... **Fix:**``
answers; plus what a raw collection also holds: near-copies of its dialogues (1-3 words changed, as a
teacher asked one prompt many times writes) and round-one proposals of the base model (which mostly fail
validation). Then, with SmolLM2-135M-Instruct on the CPU:

- **curated**: validated (every required validator passes), diagnosis-first, deduplicated (exact + MinHash),
  repairs in place of the answers they rewrite;
- **noisy**: the same pool unfiltered - failing validations, legacy answers, near-copies and failed
  proposals included (no repairs), so it is the larger of the two.

``triforge experiment``'s code trains one LoRA adapter per arm (same base, steps, seed, config) and
evaluates both and the base model on the bundled keyword cases, the debugging router eval file and one
benchmark row per bug category, printing every metric with a 95% paired bootstrap interval.

    python bench/bench_curation_value.py [--steps 40] [--proposals 200] [--max-new-tokens 160] [--home DIR]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from curation.dedup.run import DedupConfig
from curation.importers import import_files
from curation.paths import field_data_dir
from curation.workspace import Workspace
from pipelines.experiment import ExperimentPlan, run_experiment
from pipelines.experiment.run import resolve_arms
from pipelines.generate import run_generator
from schemas.sample import SourceType
from trainer.evaluation.runner import GenerationSettings, suite_sha256
from trainer.gates import DEFAULT_SUITE
from trainer.sft import device_defaults

TRAINING = (
    "din_optimization_training_v2.jsonl",
    "farore_debugging_training.jsonl",
    "teacher_pilot_output.jsonl",
    "veran_snes_hardware.jsonl",
)
# The debugging router file: its rows name expected terms. The generation and optimisation files mostly
# carry an intent only (no keywords), and 24 more generations per model would cost ~5 minutes here.
ROUTER = ("router_debugging_eval.jsonl",)
CURATED = "validation = passed and duplicate_of is null and status != superseded"
NOISY = "parent_id is null"  # every original sample: no repair, no correction


def benchmark_subset(field: Path, out: Path) -> Path:
    """One farore_benchmark row per bug category (the first of each), as a suite file of its own."""
    seen, rows = set(), []
    for line in (field / "farore_benchmark.jsonl").read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        if row["category"] not in seen:
            seen.add(row["category"])
            rows.append(line)
    path = out / "farore_benchmark_by_category.jsonl"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def near_copies(workspace: Workspace, out: Path, n: int, seed: int) -> Path:
    """A repetitive scrape: ``n`` copies of pool samples with 1-3 answer words swapped for others, the way a
    teacher asked the same prompt many times answers (the field's 1,000 teacher answers have 15 prompts)."""
    rng = random.Random(seed)
    ids = sorted(s["id"] for s in workspace.samples.list("kind = debug_dialogue", limit=1_000_000))
    fillers = ["really", "also", "then", "here", "now", "just", "clearly", "again"]
    lines = []
    for i in range(n):
        revision = workspace.samples.get(rng.choice(ids)).revision
        turns = [m.model_dump(mode="json") for m in revision.messages]
        kind, category = revision.kind.value, revision.category
        answer = turns[-1]["content"].split(" ")
        for _ in range(rng.randint(1, 3)):
            answer.insert(rng.randrange(len(answer)), rng.choice(fillers))
        turns = [*turns[:-1], {"role": "assistant", "content": " ".join(answer)}]
        lines.append(json.dumps({"messages": turns, "kind": kind, "category": category, "copy": i}))
    path = out / "near_copies.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def base_model_proposals(home: Path, out: Path, base_model: str, n: int, max_tokens: int, batch_size: int) -> Path:
    """Round-one bootstrap proposals: the base model answers ``n`` bug-injection questions (a seed the pool's
    own proposals do not use), batched as the eval generates. Most of its answers fail validation.

    Written as chat rows and imported with ``bootstrap`` provenance: the teacher batch path sends the
    long generation prompt one task at a time, which costs ~40 s a proposal on 2 cores."""
    from generators.base import get_generator
    from trainer.generation import load_model

    questions = get_generator("bug_injection").generate(n, seed=1001)
    model = load_model(base_model, home=home)
    rows = []
    for start in range(0, n, batch_size):
        chunk = questions[start : start + batch_size]
        replies = model.chat_many(
            [[{"role": "user", "content": q.prompt}] for q in chunk], max_new_tokens=max_tokens, seed=1
        )
        for question, reply in zip(chunk, replies, strict=True):
            turns = [{"role": "user", "content": question.prompt}, {"role": "assistant", "content": reply.text}]
            rows.append(json.dumps({"messages": turns, "kind": "debug_dialogue", "category": question.category}))
    path = out / "base_model_proposals.jsonl"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def build_pool(
    workspace: Workspace, field: Path, proposals: int, copies: int, bootstrap: int, base_model: str, seed: int
) -> dict[str, object]:
    home = workspace.home
    with workspace:
        imported = import_files(workspace.store, [field / n for n in TRAINING])
        made = run_generator(workspace, "bug_injection", proposals, seed=seed)
        copied = near_copies(workspace, home, copies, seed) if copies else None
    bootstrapped = base_model_proposals(home, home, base_model, bootstrap, 160, 8) if bootstrap else None
    with workspace:
        store = workspace.store
        if copied:
            import_files(store, [copied], source_name="scraped-copies")
        if bootstrapped:
            import_files(store, [bootstrapped], source_name=f"{base_model}-round-one", source_type=SourceType.bootstrap)
        repaired = None
        try:
            from curation.repairs import propose_repairs
        except ImportError:  # an older checkout: no repair path, the curated arm just leaves legacy answers out
            pass
        else:
            repaired = propose_repairs(store).as_dict()
        workspace.validations.run()
        dedup = workspace.dedup_runs.run(DedupConfig(methods=("exact", "minhash")))
        curated = workspace.snapshots.create("bench-curated", CURATED)
        noisy = workspace.snapshots.create("bench-noisy", NOISY)
    return {
        "imported": imported.new,
        "proposals": made.made,
        "proposal_duplicates": made.duplicates,
        "near_copies": copies,
        "base_model_proposals": bootstrap,
        "repairs": {k: repaired[k] for k in ("candidates", "passed", "new") if k in repaired} if repaired else None,
        "duplicates_marked": dedup.duplicates,
        "curated": curated.member_count,
        "noisy": noisy.member_count,
    }


def print_table(report: dict) -> None:
    models = list(report["models"])
    head = f"{'metric':<18}" + "".join(f"{m:>22}" for m in models)
    comps = report["comparisons"]
    head += "".join(f"{c['b'] + ' - ' + c['a']:>44}" for c in comps)
    print(head)
    for metric in report["metrics"]:
        line = f"{metric:<18}"
        for m in models:
            v = report["models"][m][metric]
            line += (
                f"{'-':>22}"
                if not v["n"]
                else f"{v['mean']:.3f} [{v['low']:.2f},{v['high']:.2f}] n={v['n']:<3}".rjust(22)
            )
        for c in comps:
            d = c["metrics"][metric]
            cell = "-" if not d["n"] else f"{d['mean']:+.3f} [{d['low']:+.2f},{d['high']:+.2f}] {d['verdict']}"
            line += cell.rjust(44)
        print(line)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=40, help="optimizer steps per adapter (the same for both)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--proposals", type=int, default=200, help="bug_injection proposals in the pool")
    parser.add_argument("--near-copies", type=int, default=150, help="noisy: copies with 1-3 words changed")
    parser.add_argument("--base-proposals", type=int, default=16, help="noisy: base-model proposals (most fail)")
    parser.add_argument("--max-new-tokens", type=int, default=160)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--base-model", default="smollm2")
    parser.add_argument("--home", type=Path, default=None, help="keep the store, adapters and report here")
    args = parser.parse_args()
    field = field_data_dir()
    if field is None:
        sys.exit("field data not found: set TRIFORGE_FIELD_DATA")
    home = args.home or Path(tempfile.mkdtemp(prefix="bench-curation-"))
    home.mkdir(parents=True, exist_ok=True)
    workspace = Workspace(home)
    clock = time.perf_counter()
    pool_file = home / "pool.json"
    if pool_file.is_file():  # a --home from an earlier run: its pool and finished steps are reused
        pool = json.loads(pool_file.read_text())
        print(f"pool reused from {pool_file}: {json.dumps(pool)}")
    else:
        pool = build_pool(workspace, field, args.proposals, args.near_copies, args.base_proposals, args.base_model, 7)
        pool_file.write_text(json.dumps(pool), encoding="utf-8")
        print(f"pool ({time.perf_counter() - clock:.0f} s): {json.dumps(pool)}")

    suites = [DEFAULT_SUITE, *(field / n for n in ROUTER), benchmark_subset(field, home)]
    config = device_defaults()
    plan = ExperimentPlan(
        name="curation-value",
        arms=resolve_arms(workspace, ["curated=bench-curated", "noisy=bench-noisy"]),
        base_model=args.base_model,
        steps=args.steps,
        seeds=[args.seed],
        config=config,
        suites=[str(p) for p in suites],
        suite_sha256=suite_sha256(suites),
        generation=GenerationSettings(max_new_tokens=args.max_new_tokens, batch_size=args.batch_size).as_dict(),
    )
    outcome = run_experiment(workspace, plan.name, plan, say=lambda text: print(f"  {text}", flush=True))
    report = outcome.report
    minutes = (time.perf_counter() - clock) / 60
    budget = f"{args.steps} steps x {config.per_device_batch_size} x {config.max_length} tokens"
    print(
        f"\n{args.base_model} on CPU, {budget} at lr {config.learning_rate:g}, seed {args.seed}; "
        f"{report['cases']['counted']} eval cases "
        f"({report['cases']['contaminated']} contaminated, left out); {minutes:.1f} minutes in all\n"
    )
    print_table(report)
    print("\nloss (mean of first -> last fifth of logged steps; first and last single step):")
    for arm in report["arms"]:
        for run in arm["runs"]:
            m = run["metrics"]
            eval_loss = m.get("eval_loss") or float("nan")
            print(
                f"  {arm['label']:<8} {arm['snapshot']['members']:>4} samples: "
                f"{m['loss_start']:.3f} -> {m['loss_end']:.3f} ({m['first_loss']:.3f} -> {m['last_loss']:.3f}), "
                f"eval loss {eval_loss:.3f}, {m['wall_seconds']:.0f} s"
            )
    print(f"\nreport: {outcome.html_path}")


if __name__ == "__main__":
    main()
