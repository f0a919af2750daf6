"""The field's finding, reproduced on the field's data: curated diagnosis-first dialogues against a diluted pool.

Farore trained on 1,562 domain-filtered log rows scored 19% (it learnt to write code snippets instead of
diagnosing); on 70 curated diagnosis-first dialogues, 84%. This bench builds that situation from
``../shared/data/field`` (farore_benchmark held out as an eval suite) with
:mod:`pipelines.experiment.field_scenario`: the pool grows by ``--proposals`` bug-injection dialogues, the
deterministic repairs of legacy answers, ``--near-copies`` near-copies and ``--base-proposals`` round-one
answers of the base model (which mostly fail validation); then

- **gold**: diagnosis-first debugging dialogues that pass every required validator, deduplicated, held
  out by ``split < 25`` (the prompt's hash: every answer to a held-out prompt is held out with it);
- **curated**: the same selection on the other side of the split;
- **diluted**: everything on that side - every kind, legacy ``**Bug:**`` answers, near-copies, failing
  proposals - at least 4x the curated size, as 1,562 was to 70.

``triforge experiment``'s code trains one LoRA adapter per arm and seed (same base, steps, config), the
contamination check refuses a gold case any arm holds, and the base and every adapter score the gold
answers (``gold_nll``) and answer the debugging router cases and one benchmark row per bug category.

    python bench/bench_curation_value.py [--steps 20] [--seeds 0,1] [--proposals 120] [--limit 10] [--home DIR]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from curation.importers import import_files
from curation.machine import cpu_model
from curation.paths import field_data_dir
from curation.workspace import Workspace
from pipelines.experiment import ExperimentPlan, run_experiment
from pipelines.experiment.arms import freeze_arms
from pipelines.experiment.field_scenario import ARMS, GOLD, grow_pool
from pipelines.experiment.gold_set import freeze_gold
from schemas.sample import SourceType
from trainer.evaluation.runner import GenerationSettings, suite_sha256
from trainer.sft import device_defaults

TRAINING = (
    "din_optimization_training_v2.jsonl",
    "farore_debugging_training.jsonl",
    "teacher_pilot_output.jsonl",
    "veran_snes_hardware.jsonl",
)
ROUTER = "router_debugging_eval.jsonl"  # debugging prompts that name the terms a good answer uses
EXPERIMENT = "field-finding"


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


def build_pool(workspace: Workspace, field: Path, args: argparse.Namespace) -> dict[str, object]:
    with workspace:
        imported = import_files(workspace, [field / n for n in TRAINING])
    bootstrapped = None
    if args.base_proposals:
        bootstrapped = base_model_proposals(workspace.home, workspace.home, args.base_model, args.base_proposals,
                                            160, 8)  # fmt: skip
    with workspace:
        if bootstrapped:
            import_files(
                workspace,
                [bootstrapped],
                source_name=f"{args.base_model}-round-one",
                source_type=SourceType.bootstrap,
            )
        pool = grow_pool(workspace, proposals=args.proposals, seed=7, near_copies=args.near_copies)
    return {"imported": imported.new, "base_model_proposals": args.base_proposals} | pool.as_dict()


def print_table(report: dict) -> None:
    models = list(report["models"])
    head = f"{'metric':<18}" + "".join(f"{m:>22}" for m in models)
    comps = report["comparisons"]
    head += "".join(f"{c['b'] + ' - ' + c['a']:>44}" for c in comps)
    print(head)
    for metric in report["metrics"]:
        if metric in report["unmeasured"]:
            continue  # no case measures it (quest metrics, fix_passes): nothing to print
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
    parser.add_argument("--steps", type=int, default=20, help="optimizer steps per adapter (the same for all)")
    parser.add_argument("--seeds", default="0,1", help="training seeds, comma-separated (one adapter per arm each)")
    parser.add_argument("--proposals", type=int, default=120, help="bug_injection proposals in the pool")
    parser.add_argument("--near-copies", type=int, default=300, help="diluted: copies with 1-3 words changed")
    parser.add_argument("--limit", type=int, default=10, help="generation cases per suite")
    parser.add_argument("--base-proposals", type=int, default=16, help="diluted: base-model proposals (most fail)")
    parser.add_argument("--max-new-tokens", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=10)
    parser.add_argument("--base-model", default="smollm2")
    parser.add_argument("--home", type=Path, default=None, help="keep the store, adapters and report here")
    args = parser.parse_args()
    field = field_data_dir()
    if field is None:
        sys.exit("field data not found: set TRIFORGE_FIELD_DATA")
    print(f"CPU: {cpu_model()}")
    home = args.home or Path(tempfile.mkdtemp(prefix="bench-curation-"))
    home.mkdir(parents=True, exist_ok=True)
    workspace = Workspace(home)
    clock = time.perf_counter()
    pool_file = home / "pool.json"
    if pool_file.is_file():  # a --home from an earlier run: its pool and finished steps are reused
        pool = json.loads(pool_file.read_text())
        print(f"pool reused from {pool_file}: {json.dumps(pool)}")
    else:
        pool = build_pool(workspace, field, args)
        pool_file.write_text(json.dumps(pool), encoding="utf-8")
        print(f"pool ({time.perf_counter() - clock:.0f} s): {json.dumps(pool)}")

    seeds = [int(s) for s in args.seeds.split(",") if s.strip()]
    arms = freeze_arms(workspace, EXPERIMENT, list(ARMS))
    # A template can write a held-out prompt nearly like a trained one: such gold cases are left out.
    gold = freeze_gold(workspace, EXPERIMENT, GOLD, arms, drop_overlap=True)
    print(f"gold: {gold.cases} held-out answers ({gold.dropped} left out: an arm holds a prompt like theirs)")
    suites = [field / ROUTER, benchmark_subset(field, home)]
    config = device_defaults()
    plan = ExperimentPlan(
        name=EXPERIMENT,
        arms=arms,
        base_model=args.base_model,
        steps=args.steps,
        seeds=seeds,
        config=config,
        suites=[str(p) for p in suites],
        suite_sha256=suite_sha256(suites),
        limit=args.limit,
        generation=GenerationSettings(max_new_tokens=args.max_new_tokens, batch_size=args.batch_size).as_dict(),
        **gold.plan_fields(),
    )
    outcome = run_experiment(workspace, plan.name, plan, say=lambda text: print(f"  {text}", flush=True))
    report = outcome.report
    minutes = (time.perf_counter() - clock) / 60
    budget = f"{args.steps} steps x {config.per_device_batch_size} x {config.max_length} tokens"
    print(
        f"\n{args.base_model} on CPU, {budget} at lr {config.learning_rate:g}, seeds {seeds}; "
        f"{report['cases']['counted']} cases counted ({gold.cases} gold answers; "
        f"{report['cases']['contaminated']} contaminated, left out); {minutes:.1f} minutes in all\n"
    )
    print_table(report)
    print("\nwhat each arm holds:")
    for arm in report["arms"]:
        failing = {n: v["share"] for n, v in arm["validators"].items() if v["share"] < 1}
        print(f"  {arm['label']:<8} {arm['snapshot']['members']:>4} samples, kinds {arm['kinds']}, "
              f"{arm['validation_passed']} pass validation, {arm['duplicates']} duplicates; "
              f"validators below 100%: {failing}")  # fmt: skip
    for label, metrics in report["seed_spread"].items():
        print(f"  seed-to-seed range of {label}: " + ", ".join(f"{m} {v['range']:.3f}" for m, v in metrics.items()))
    print("\nloss (mean of first -> last fifth of logged steps):")
    for arm in report["arms"]:
        for run in arm["runs"]:
            m = run["metrics"]
            eval_loss = m.get("eval_loss") or float("nan")
            print(
                f"  {arm['label']:<8} seed {run['seed']} {arm['snapshot']['members']:>4} samples: "
                f"{m['loss_start']:.3f} -> {m['loss_end']:.3f}, eval loss {eval_loss:.3f}, {m['wall_seconds']:.0f} s"
            )
    print(f"\nreport: {outcome.html_path}")


if __name__ == "__main__":
    main()
