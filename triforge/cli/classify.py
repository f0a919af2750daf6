"""``triforge classify``: suggested labels learnt from the store's own labelled samples.

Without ``--evaluate`` it trains (or reuses) one head per task and stores predictions for the samples
``--where`` chooses, beside their labels; with ``--evaluate`` it stores nothing and prints cross-validated
accuracy and macro-F1 per task next to the keyword rules it replaces. See ``curation/classify``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Annotated, Any

import typer

from curation.classify.evaluate import evaluate as run_evaluation
from curation.classify.service import classify
from curation.classify.tasks import parse_tasks
from curation.dedup.embeddings import EmbeddingModelMissing
from curation.paths import field_data_dir
from curation.store import StoreError
from triforge.cli.common import console, err_console, open_workspace, print_json, simple_table, user_errors

SHOWN_DISAGREEMENTS = 5


def default_router_files() -> list[Path]:
    """The field's ``router_*_eval.jsonl`` when the field data is found, else none."""
    field = field_data_dir()
    return sorted(field.glob("router_*_eval.jsonl")) if field is not None else []


@contextmanager
def classifier_errors() -> Iterator[None]:
    """A missing embedding model or scikit-learn is something the user can fix: one line, not a traceback."""
    try:
        yield
    except (EmbeddingModelMissing, ImportError) as exc:
        raise StoreError(f"the classifier needs the embedding extra (pip install -e '.[embed]'): {exc}") from exc


def print_classify_report(report: Any) -> None:
    """The per-task lines ``classify`` and ``review pull --retrain-classifier`` print."""
    rows = []
    for t in report.tasks:
        if t.skipped:
            rows.append((t.task, f"skipped: {t.skipped}", "", "", "", ""))
            continue
        model = f"{t.model_id[:8]} {'reused' if t.model_reused else 'new'}"
        rows.append((t.task, model, t.trained_on, t.predicted, t.without_label, len(t.disagree)))
    columns = ("task", "model", "trained on", "predicted", "no label", "disagree")
    console.print(simple_table(f"classified {report.samples} samples", columns, rows))
    for t in report.tasks:
        for d in t.disagree[:SHOWN_DISAGREEMENTS]:
            console.print(
                f"  {t.task}: {d['id'][:10]} is labelled {d['given']}, the classifier says {d['predicted']} "
                f"({d['score']:.2f})",
                highlight=False,
            )


def _print_evaluation(report: dict[str, Any], folds: int) -> None:
    rows = []
    for e in report["evaluations"]:
        c, b = e["classifier"], e["baseline"]
        rows.append((
            e["task"], e["data"], e["items"], f"{c['accuracy']:.3f}", f"{c['macro_f1']:.3f}",
            f"{b['accuracy']:.3f}", f"{b['macro_f1']:.3f}", f"{e['majority']:.3f}",
        ))  # fmt: skip
    columns = ("task", "data", "n", "acc", "F1", "kw acc", "kw F1", "majority")
    title = f"{report['classifier']} ({folds}-fold CV) vs keyword rules; F1 = macro-F1"
    console.print(simple_table(title, columns, rows))
    for e in report["evaluations"]:
        if e["left_out"]:
            left = ", ".join(f"{k} ({v})" for k, v in e["left_out"].items())
            console.print(f"  {e['task']}: left out, one sample each: {left}", highlight=False)
        if e["note"]:
            console.print(f"  {e['task']} {e['data']}: {e['note']}", highlight=False)
    for task, why in report["skipped"].items():
        err_console.print(f"[yellow]{task}: not evaluated, {why}[/]", highlight=False)


@user_errors
def classify_command(
    where: Annotated[
        str | None,
        typer.Option("--where", "-w", help='Which samples get predictions (default: all), e.g. "status = proposed"'),
    ] = None,
    task: Annotated[str | None, typer.Option(help="Tasks, comma-separated: kind,category,intent (default all)")] = None,
    evaluate: Annotated[
        bool, typer.Option("--evaluate", help="Cross-validate against the keyword rules; store nothing")
    ] = False,
    folds: Annotated[int, typer.Option(min=2, max=20, help="Cross-validation folds (--evaluate)")] = 5,
    evals: Annotated[
        list[Path] | None,
        typer.Option("--evals", help="Router eval files for --evaluate (default: the field's router_*_eval.jsonl)"),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Predict kind, bug category and router intent from the store's own labels (stored beside them,
    never over them; filter with --where "predicted.category = x"), or --evaluate the classifier."""

    tasks = parse_tasks(task)
    if evaluate and where:
        raise StoreError("--evaluate uses every labelled sample; --where chooses what classify predicts for")
    with classifier_errors(), open_workspace() as workspace:
        if evaluate:
            files = list(evals) if evals else default_router_files()
            with nullcontext() if as_json else console.status("embedding and cross-validating"):
                result = run_evaluation(workspace, tasks, files, folds)
        else:
            with nullcontext() if as_json else console.status("classifying") as spinner:
                result = classify(workspace, where, tasks, progress=spinner.update if spinner else None)
    if as_json:
        print_json(result.as_dict())
    elif evaluate:
        _print_evaluation(result.as_dict(), folds)
    else:
        print_classify_report(result)
