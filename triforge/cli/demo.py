"""``triforge demo``: the main job on the embedded default, end to end.

Imports the field data (../shared/data/field), prints a summary, validates and dedups it, freezes
the ready samples (proposed, not a duplicate) into a snapshot, checks it against the eval suites and
exports it with a dataset card. Safe to re-run: imports are idempotent and the snapshot is reused.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from curation.contamination import check_contamination
from curation.errors import NotFound
from curation.export import export_snapshot
from curation.importers import FORMATS, UnrecognisedRow, detect_format, read_jsonl
from curation.paths import field_data_dir
from curation.rommap import build_rom_map
from curation.stats import dataset_stats
from pipelines.check import Check
from pipelines.experiment import ExperimentPlan, run_experiment
from pipelines.experiment.arms import freeze_arms
from pipelines.experiment.field_scenario import ARMS, GOLD, HELD_OUT, grow_pool
from pipelines.experiment.gold_set import freeze_gold
from pipelines.generate import run_generator
from trainer.evaluation.runner import GenerationSettings, suite_sha256
from trainer.gates import DEFAULT_SUITE
from trainer.sft import device_defaults
from triforge.cli.common import console, open_workspace, user_errors
from triforge.cli.experiment import print_report
from triforge.cli.importing import print_import_report, run_import
from triforge.cli.samples import print_stats
from triforge.cli.validating import print_validation_summary

DEMO_SNAPSHOT = "field-ready"
DEMO_FILTER = "source_type = import and status = proposed and duplicate_of is null"
DEMO_EXPERIMENT = "demo-field"
DEMO_PROPOSALS = 96
# About 3 minutes of training per arm on 2 cores: the loss falls and the arms part on the gold answers.
DEMO_STEPS = 16
DEMO_SUITE = "router_debugging_eval.jsonl"  # the small generation check: debugging prompts with expected terms
DEMO_CASES = 8
DEMO_TOKENS = 128


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
        bool, typer.Option("--train/--no-train", help="Also train curated and diluted arms of SmolLM2-135M and compare")
    ] = True,
) -> None:
    """Import the field data; summarise, validate and dedup it; snapshot, check and export the ready samples;
    check quest proposals against the game; then the field's comparison: curated against diluted, trained
    the same and scored on held-out gold answers."""

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
        console.print("\n[bold]2. summary[/]")
        print_stats(dataset_stats(workspace), top=12)
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
        try:  # a rerun keeps what the first run froze: its proposals and repairs since make other duplicates
            snap = workspace.snapshots.resolve(DEMO_SNAPSHOT)
        except NotFound:
            snap = workspace.snapshots.create(DEMO_SNAPSHOT, DEMO_FILTER)
        console.print(
            f"\n[bold]5. snapshot[/] {snap.name} {snap.id} ({snap.member_count} samples, "
            f"filter: {snap.where}; benchmark drafts await an answer check)"
        )
        suites = [*evals, *sorted(directory.glob("*eval*.json"))]
        if suites:
            leaks = check_contamination(workspace, snap.id, suites)
            console.print(
                f"\n[bold]6. contamination[/] {leaks.leaked_evals} of {leaks.evals} eval cases found in the "
                f"snapshot's prompts ({', '.join(p.name for p in suites)})"
            )
        target = out or workspace.paths.exports / DEMO_SNAPSHOT / "chatml"
        result = export_snapshot(workspace, snap.id, "chatml", target)
    counts = ", ".join(f"{k} {v}" for k, v in result.counts.items())
    console.print(f"\n[bold]7. export[/] chatml -> {result.out_dir} ({counts}); card: {result.out_dir / 'README.md'}")
    _the_game(directory.parent / "usdasm")
    if train:
        _train_and_eval(directory)


def _the_game(checkout: Path) -> None:
    """Step 8: the ROM map from the user's disassembly checkout (beside the field data here), and quest pairs
    proposed on it and judged by the checks that know the game. Skipped, saying why, without a checkout."""
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


def _train_and_eval(directory: Path) -> None:
    """Steps 9-11: the field's comparison on this store. The pool grows as a team's does (template proposals,
    repairs); two arms are frozen from filters - curated diagnosis-first dialogues and everything a domain
    filter collects - and a gold set is held out of both; one LoRA adapter per arm, the same budget; the base
    and both adapters score the gold answers (``gold_nll``) and answer a few debugging prompts."""
    workspace = open_workspace()
    with workspace:
        pool = grow_pool(workspace, proposals=DEMO_PROPOSALS, seed=0)
    console.print(
        f"\n[bold]9. the field's comparison[/] (Farore: 70 curated diagnosis-first dialogues scored 84%, 1,562 "
        f"domain-filtered log rows 19%). Pool grown by {pool.proposals} bug_injection proposals and {pool.repairs} "
        f"repairs of legacy answers, validated and deduplicated. Gold: {pool.gold} diagnosis-first dialogues held "
        f"out (split < {HELD_OUT}); curated: {pool.curated} of the same kind; diluted: {pool.diluted} rows of every "
        f"kind and format, failing and duplicate ones included ({pool.dilution:.1f}x curated)."
    )
    suite = directory / DEMO_SUITE
    suites = [suite if suite.is_file() else DEFAULT_SUITE]
    arms = freeze_arms(workspace, DEMO_EXPERIMENT, list(ARMS))
    # A template can write a held-out prompt nearly like a trained one: such gold cases are left out.
    gold = freeze_gold(workspace, DEMO_EXPERIMENT, GOLD, arms, drop_overlap=True)
    config = device_defaults()
    plan = ExperimentPlan(
        name=DEMO_EXPERIMENT,
        arms=arms,
        steps=DEMO_STEPS,
        config=config,
        suites=[str(p) for p in suites],
        suite_sha256=suite_sha256(suites),
        limit=DEMO_CASES,
        generation=GenerationSettings(max_new_tokens=DEMO_TOKENS, batch_size=DEMO_CASES).as_dict(),
        **gold.plan_fields(),
    )
    console.print(
        f"[bold]10. train + eval[/] SmolLM2-135M-Instruct (shipped as GGUF), one LoRA adapter per arm, {DEMO_STEPS} "
        f"steps of {config.per_device_batch_size} x {config.max_length} tokens at lr {config.learning_rate:g}; the "
        f"base and both adapters score the {gold.cases} gold answers (one forward pass each"
        + (f"; {gold.dropped} left out, an arm holds a prompt like theirs" if gold.dropped else "")
        + ") and answer "
        f"{DEMO_CASES} prompts of {DEMO_SUITE} ({DEMO_TOKENS} tokens). About 9 minutes on 2 cores; rerunning resumes."
    )
    outcome = run_experiment(
        workspace,
        plan.name,
        plan,
        say=lambda text: console.print(f"  {text}", highlight=False),
    )
    console.print("[bold]11. results[/] (B - A with 95% paired bootstrap intervals over cases)")
    print_report(outcome.report)
    console.print(verdict_sentence(outcome.report))
    console.print(f"  report: {outcome.html_path}  (triforge experiment report {plan.name})")


def verdict_sentence(report: dict) -> str:
    """One sentence on what the user just saw: curated against diluted, on the gold answers and the
    diagnosis-first structure, or that this budget measured nothing."""
    comparison = next((c for c in report["comparisons"] if (c["a"], c["b"]) == ("diluted", "curated")), None)
    if comparison is None:
        return "[yellow]no curated - diluted comparison: an arm did not finish[/]"
    gold = comparison["metrics"]["gold_nll"]
    structure = comparison["metrics"]["diagnosis_first"]
    parts = []
    if gold["n"]:
        parts.append(
            f"on {gold['n']} held-out gold answers the curated adapter's loss per token is {gold['mean']:+.3f} "
            f"[{gold['low']:+.2f}, {gold['high']:+.2f}] against the diluted one's: {gold['verdict']}"
        )
    if structure["n"]:
        parts.append(f"diagnosis-first answers {structure['mean']:+.2f} ({structure['verdict']})")
    measured = {gold["verdict"], structure["verdict"]} - {"no measurable change"}
    if not measured:
        return (
            "[yellow]verdict:[/] at this budget nothing separates the arms ("
            + "; ".join(parts)
            + "): the demo's budget is too small to measure; bench/bench_curation_value.py runs the longer comparison"
        )
    sizes = {arm["label"]: arm["snapshot"]["members"] for arm in report["arms"]}
    color = "green" if "better" in measured and "worse" not in measured else "yellow"
    return (
        f"[{color}]verdict:[/] " + "; ".join(parts) + f". Same base, steps and seed: {sizes.get('curated')} curated "
        f"dialogues against {sizes.get('diluted')} diluted rows - the field's finding, on this store."
    )
