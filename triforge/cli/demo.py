"""``triforge demo``: the main job on the embedded default, end to end.

Imports the field data (../shared/data/field), prints a summary, validates and dedups it, freezes
the ready samples (proposed, not a duplicate) into a snapshot, checks it against the eval suites and
exports it with a dataset card. Safe to re-run: imports are idempotent and the snapshot is reused.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from curation.export import export_snapshot
from curation.importers import FORMATS, UnrecognisedRow, detect_format, read_jsonl
from curation.paths import triforge_home
from curation.snapshots import create_snapshot
from curation.stats import dataset_stats
from triforge.cli.common import console, open_store, user_errors
from triforge.cli.importing import print_import_report
from triforge.cli.samples import print_stats
from triforge.cli.validating import print_validation_summary

DEMO_SNAPSHOT = "field-ready"
DEMO_FILTER = "source_type = import and status = proposed and duplicate_of is null"
TRAIN_SNAPSHOT = "demo-train"
TRAIN_FILTER = "validation = passed and duplicate_of is null"
# A few short steps: enough to show the loop on a 2-core CPU in minutes, not to make a good model.
DEMO_TRAIN_CONFIG = {"max_steps": 4, "max_length": 512, "per_device_batch_size": 2, "gradient_accumulation_steps": 2}


def find_field_data() -> Path | None:
    """``$TRIFORGE_FIELD_DATA``, else ``shared/data/field`` beside this checkout or the working dir."""
    env = os.environ.get("TRIFORGE_FIELD_DATA")
    if env:
        return Path(env)
    repo = Path(__file__).resolve().parents[2]
    for base in (Path.cwd(), repo):
        for candidate in (base / "shared/data/field", base.parent / "shared/data/field"):
            if candidate.is_dir():
                return candidate
    return None


def training_files(directory: Path) -> tuple[list[Path], list[Path]]:
    """Split a directory's JSONL files into importable ones and eval suites (kept out of training)."""
    importable, evals = [], []
    for path in sorted(directory.glob("*.jsonl")):
        first = next((r for r in read_jsonl(path) if r.value is not None), None)
        try:
            if first is None:
                raise UnrecognisedRow("no readable row")
            detect_format(first.value)
            importable.append(path)
        except UnrecognisedRow:
            evals.append(path)
    return importable, evals


@user_errors
def demo_command(
    field_dir: Annotated[Path | None, typer.Option(help="Directory of field JSONL files")] = None,
    out: Annotated[Path | None, typer.Option(help="Export directory (default $TRIFORGE_HOME/exports/...)")] = None,
    train: Annotated[
        bool, typer.Option("--train/--no-train", help="Also LoRA-train SmolLM2-135M a few steps and eval it")
    ] = True,
) -> None:
    """Import the field data; summarise, validate and dedup it; snapshot, check and export the ready samples;
    then propose more, LoRA-train the shipped SmolLM2 on the clean ones and compare keyword evals."""
    from curation.contamination import check_contamination
    from curation.dedup.run import DedupConfig, run_dedup
    from curation.validators.runner import validate_samples
    from triforge.cli.importing import run_import

    directory = field_dir or find_field_data()
    if directory is None or not directory.is_dir():
        console.print("[red]error:[/] no field data found; pass --field-dir or set TRIFORGE_FIELD_DATA")
        raise typer.Exit(2)
    files, evals = training_files(directory)
    console.print(
        f"[bold]1. import[/] {len(files)} files from {directory} "
        f"({', '.join(f.name for f in evals) or 'no'} eval suites kept out; formats known: "
        f"{', '.join(f.name for f in FORMATS)})"
    )
    report = run_import(files, source=None, kind=None, source_type=None, on_error="skip", as_json=False)
    print_import_report(report)

    with open_store() as store:
        console.print("\n[bold]2. summary[/]")
        print_stats(dataset_stats(store), top=12)
        console.print("\n[bold]3. validate[/] (format, Asar 1.91 assembly, terminology, anti-patterns, length)")
        print_validation_summary(validate_samples(store))
        dedup = run_dedup(store, config=DedupConfig(methods=("exact", "minhash")))
        console.print(
            f"\n[bold]4. dedup[/] exact + MinHash: {len(dedup.clusters)} clusters, {dedup.duplicates} samples marked "
            f"duplicate (report: triforge dedup report {dedup.id} --out dedup.html)"
        )
        snap = create_snapshot(store, DEMO_SNAPSHOT, DEMO_FILTER, exist_ok=True)
        console.print(
            f"\n[bold]5. snapshot[/] {snap.name} {snap.id} ({snap.member_count} samples, "
            f"filter: {snap.where}; benchmark drafts await an answer check)"
        )
        suites = [*evals, *sorted(directory.glob("*eval*.json"))]
        if suites:
            leaks = check_contamination(store, snap.id, suites)
            console.print(
                f"\n[bold]6. contamination[/] {leaks.leaked_evals} of {leaks.evals} eval cases found in the "
                f"snapshot's prompts ({', '.join(p.name for p in suites)})"
            )
        target = out or triforge_home() / "exports" / DEMO_SNAPSHOT / "chatml"
        result = export_snapshot(store, snap.id, "chatml", target)
    counts = ", ".join(f"{k} {v}" for k, v in result.counts.items())
    console.print(f"\n[bold]7. export[/] chatml -> {result.out_dir} ({counts}); card: {result.out_dir / 'README.md'}")
    if train:
        _train_and_eval()


def _train_and_eval() -> None:
    """Steps 8-10: template proposals, a clean snapshot, a short real LoRA run, base vs adapter evals."""
    from curation.paths import store_path
    from generators.run import run_generator
    from schemas.training import TrainConfig
    from trainer.evaluation.runner import compare_eval_runs, evaluate_model, record_eval
    from trainer.evaluation.suites import load_suite_file
    from trainer.gates import DEFAULT_SUITE
    from trainer.sft import train

    with open_store() as store:
        made = run_generator(store, "bug_injection", 48, seed=0)
        snap = create_snapshot(store, TRAIN_SNAPSHOT, TRAIN_FILTER, exist_ok=True)
    console.print(
        f"\n[bold]8. propose + snapshot[/] bug_injection: {made.made} proposals, {made.valid} valid; "
        f"{snap.name} {snap.id[:12]}: {snap.member_count} samples ({TRAIN_FILTER})"
    )
    console.print("[bold]9. train[/] SmolLM2-135M-Instruct (shipped as GGUF, converted once), LoRA, 4 steps on CPU")
    result = train(
        store_path(),
        snap.id,
        out=triforge_home() / "adapters" / "demo",
        config=TrainConfig(**DEMO_TRAIN_CONFIG),
        overwrite=True,
    )
    m = result.manifest.metrics
    console.print(
        f"  adapter {result.adapter_dir}: loss {m['first_loss']:.3f} -> {m['last_loss']:.3f}, "
        f"eval loss {m.get('eval_loss', float('nan')):.3f}, {m['wall_seconds']} s"
    )
    # The first case of each suite: a quick, balanced slice (the whole suite: triforge eval MODEL).
    every = load_suite_file(DEFAULT_SUITE)
    cases = [next(c for c in every if c.suite == suite) for suite in dict.fromkeys(c.suite for c in every)]
    runs = []
    for label, ref in (("base", "smollm2"), ("adapter", result.adapter_dir)):
        report = evaluate_model(ref, DEFAULT_SUITE, cases, max_new_tokens=96)
        with open_store() as store:
            record_eval(store, report)
        runs.append(report)
        overall = report.summary()["ALL"]
        console.print(
            f"[bold]10. eval[/] {label}: {overall['cases']} cases, substring-rule mean "
            f"{overall['substring']['mean_score']:.3f}, whole-word mean {overall['word']['mean_score']:.3f}"
        )
    with open_store(read_only=True) as store:
        diff = compare_eval_runs(store, runs[0].id, runs[1].id)["suites"]["ALL"]
    console.print(
        f"  adapter - base: word {diff['word']['delta']:+.3f}, substring {diff['substring']['delta']:+.3f} "
        f"(triforge eval compare {runs[0].id} {runs[1].id}; triforge lineage {result.adapter_dir})"
    )
