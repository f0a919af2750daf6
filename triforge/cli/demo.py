"""``triforge demo``: the main job on the embedded default, end to end.

Imports the field data (../shared/data/field), prints a summary, validates and dedups it, freezes
the ready samples (proposed, not a duplicate) into a snapshot, checks it against the eval suites and
exports it with a dataset card. Safe to re-run: imports are idempotent and the snapshot is reused.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from curation.export import export_snapshot
from curation.importers import FORMATS, UnrecognisedRow, detect_format, read_jsonl
from curation.paths import field_data_dir
from curation.snapshots import create_snapshot
from curation.stats import dataset_stats
from triforge.cli.common import console, open_workspace, user_errors
from triforge.cli.importing import print_import_report
from triforge.cli.samples import print_stats
from triforge.cli.validating import print_validation_summary

DEMO_SNAPSHOT = "field-ready"
DEMO_FILTER = "source_type = import and status = proposed and duplicate_of is null"
TRAIN_SNAPSHOT = "demo-train"
TRAIN_FILTER = "validation = passed and duplicate_of is null"
# Long enough on 2 cores (about 3 minutes of training) for the training loss to fall; evals are batched.
DEMO_STEPS = 30
DEMO_TOKENS = 160


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
    from pipelines.check import Check
    from triforge.cli.importing import run_import

    directory = field_dir or field_data_dir()
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

    with open_workspace() as workspace:
        store = workspace.store
        console.print("\n[bold]2. summary[/]")
        print_stats(dataset_stats(store), top=12)
        console.print(
            "\n[bold]3. validate[/] (format, Asar 1.91 assembly in its sandbox, widths and stack along every path, "
            "terminology, anti-patterns, length)"
        )
        checked = Check(workspace).run()  # the same check every proposal and submission goes through
        print_validation_summary(checked.validation)
        dedup = checked.dedup
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
        target = out or workspace.paths.exports / DEMO_SNAPSHOT / "chatml"
        result = export_snapshot(store, snap.id, "chatml", target)
    counts = ", ".join(f"{k} {v}" for k, v in result.counts.items())
    console.print(f"\n[bold]7. export[/] chatml -> {result.out_dir} ({counts}); card: {result.out_dir / 'README.md'}")
    _the_game(directory.parent / "usdasm")
    if train:
        _train_and_eval()


def _the_game(checkout: Path) -> None:
    """Step 8: the ROM map from the user's disassembly checkout (beside the field data here), and quest pairs
    proposed on it and judged by the checks that know the game. Skipped, saying why, without a checkout."""
    from curation.rommap import build_rom_map
    from pipelines.generate import run_generator

    if not (checkout / "bank_00.asm").is_file():
        console.print(
            f"\n[bold]8. the game[/] skipped: no usdasm-style checkout at {checkout} (rom-map build needs one)"
        )
        return
    with open_workspace() as workspace:
        rom_map = build_rom_map(checkout)
        rom_map.save(workspace.paths.rom_map)
        made = run_generator(workspace, "quest_templates", 6, seed=0)
        sample = workspace.samples.revisions(made.ids[:1])[0] if made.ids else None
    console.print(
        f"\n[bold]8. the game[/] ROM map from {checkout}: {sum(rom_map.code):,} instructions, "
        f"{len(rom_map.save_use)} save bytes vanilla uses, {len(rom_map.free_save_bytes())} free in $7EF400-$7EF4FD; "
        f"quest_templates: {made.made} pairs, {made.valid} pass the hook, save-byte, convention and scenario checks"
    )
    if sample is not None:
        hooks = ", ".join(sample.metadata.get("hooks", []))
        console.print(
            f"  e.g. a {sample.category} quest hooked at {hooks} (whole vanilla JSLs), state in "
            f"{sample.metadata.get('state_byte')}; `triforge rom-map show ADDRESS` explains any address"
        )


def _train_and_eval() -> None:
    """Steps 9-11: template proposals, a clean snapshot, and an experiment: a real LoRA run on CPU, then the
    base model and the adapter on the bundled eval cases, compared with paired bootstrap intervals."""
    from pipelines.experiment import ExperimentPlan, run_experiment
    from pipelines.experiment.run import resolve_arms
    from pipelines.generate import run_generator
    from trainer.evaluation.runner import GenerationSettings, suite_sha256
    from trainer.gates import DEFAULT_SUITE
    from trainer.sft import device_defaults
    from triforge.cli.experiment import print_report

    workspace = open_workspace()
    with workspace:
        made = run_generator(workspace, "bug_injection", 48, seed=0)
        snap = create_snapshot(workspace.store, TRAIN_SNAPSHOT, TRAIN_FILTER, exist_ok=True)
    console.print(
        f"\n[bold]9. propose + snapshot[/] bug_injection: {made.made} proposals, {made.valid} valid; "
        f"{snap.name} {snap.id[:12]}: {snap.member_count} samples ({TRAIN_FILTER})"
    )
    config = device_defaults()
    plan = ExperimentPlan(
        name=f"demo-{snap.id[:8]}",
        arms=resolve_arms(workspace, [f"adapter={snap.id}"]),
        steps=DEMO_STEPS,
        config=config,
        suites=[str(DEFAULT_SUITE)],
        suite_sha256=suite_sha256(DEFAULT_SUITE),
        generation=GenerationSettings(max_new_tokens=DEMO_TOKENS, batch_size=8).as_dict(),
    )
    console.print(
        f"[bold]10. train + eval[/] SmolLM2-135M-Instruct (shipped as GGUF, converted once), LoRA, {DEMO_STEPS} steps "
        f"of {config.per_device_batch_size} x {config.max_length} tokens at lr {config.learning_rate:g}; then the "
        f"base and the adapter answer the {DEFAULT_SUITE.name} cases ({DEMO_TOKENS} tokens each). "
        "About 8 minutes on 2 cores; rerunning resumes."
    )
    outcome = run_experiment(
        workspace,
        plan.name,
        plan,
        say=lambda text: console.print(f"  {text}", highlight=False),
    )
    console.print("[bold]11. results[/] (B - A with 95% paired bootstrap intervals over cases)")
    print_report(outcome.report)
    verdicts = {m["verdict"] for c in outcome.report["comparisons"] for m in c["metrics"].values() if m["n"]}
    if verdicts <= {"no measurable change"}:
        console.print(
            f"[yellow]smoke run:[/] at {DEMO_STEPS} steps no difference is measurable on these cases; the loop works, "
            "the model is not better yet (bench/bench_curation_value.py runs the real comparison)"
        )
    console.print(f"  report: {outcome.html_path}  (triforge experiment report {plan.name})")
