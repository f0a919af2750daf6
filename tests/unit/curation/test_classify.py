"""Suggested labels that learn: the real MiniLM model, real scikit-learn, real DuckDB, field data.

One small labelled set is cut from the field files (Din's optimisations, Veran's explanations, the
teacher pilot's generations, six of the benchmark's bug categories, a few unlabelled Farore dialogues),
imported and embedded once per module; each test works on its own copy of that store.
"""

from __future__ import annotations

import json
import shutil
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from curation.classify.baseline import keyword_intent, keyword_kind, term_category
from curation.classify.evaluate import evaluate
from curation.classify.model import LinearHead
from curation.classify.predictions import predictions_for
from curation.classify.service import VectorCache, classify
from curation.classify.tasks import INTENTS, TASKS, load_labels
from curation.classify.training import training_set
from curation.filters import ENUM_VALUES, PREDICTED_TASKS, FilterError
from curation.importers import import_files
from curation.store import Store
from curation.workspace import Workspace
from tests.factories import write_jsonl
from triforge.cli import app

CATEGORIES = (
    "mode_mismatch",
    "register_corruption",
    "addressing_mode",
    "bit_manipulation",
    "carry_flag",
    "stack_imbalance",
)


def _rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


@pytest.fixture(scope="module")
def labelled_file(field_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The small labelled set, imported and classified once (which also caches every embedding)."""
    folder = tmp_path_factory.mktemp("classify")
    files = [
        write_jsonl(folder / "din.jsonl", _rows(field_dir / "din_optimization_training_v2.jsonl")[:20]),
        write_jsonl(folder / "veran.jsonl", _rows(field_dir / "veran_snes_hardware.jsonl")[:20]),
        write_jsonl(folder / "teacher.jsonl", _rows(field_dir / "teacher_pilot_output.jsonl")),
        write_jsonl(
            folder / "bench.jsonl",
            [r for r in _rows(field_dir / "farore_benchmark.jsonl") if r["category"] in CATEGORIES],
        ),
        write_jsonl(folder / "farore.jsonl", _rows(field_dir / "farore_debugging_training.jsonl")[:8]),
    ]
    path = folder / "triforge.duckdb"
    with Workspace.of_store(Store(path)) as ws:
        import_files(ws, files)
        classify(ws)
    return path


@pytest.fixture
def labelled(labelled_file: Path, home: Path) -> Iterator[Workspace]:
    home.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(labelled_file, home / "triforge.duckdb")
    with Workspace(home) as workspace:
        yield workspace


def test_a_head_trained_on_part_of_the_labels_labels_the_held_out_rest(labelled):
    samples = load_labels(labelled)
    vectors = VectorCache(labelled)
    for task, floor in (("kind", 0.9), ("category", 0.6)):
        pairs = training_set(task, samples)
        held_out = pairs[::3]
        train = [p for i, p in enumerate(pairs) if i % 3]
        head = LinearHead.fit(vectors([r for r, _ in train]), [label for _, label in train])
        predicted = [label for label, _ in head.predict(vectors([r for r, _ in held_out]))]
        truth = [label for _, label in held_out]
        accuracy = sum(p == t for p, t in zip(predicted, truth, strict=True)) / len(truth)
        chance = Counter(truth).most_common(1)[0][1] / len(truth)
        assert accuracy >= floor and accuracy > chance + 0.2, (task, accuracy, chance)


def test_cross_validation_reports_classifier_baseline_and_majority_per_task(labelled, field_dir):
    routers = sorted(field_dir.glob("router_*_eval.jsonl"))
    report = evaluate(labelled, router_files=routers, folds=4).as_dict()
    by = {(e["task"], e["data"]): e for e in report["evaluations"]}
    assert set(by) == {("kind", "store"), ("category", "store"), ("intent", "store"), ("intent", "router"),
                       ("intent", "router-cv")}  # fmt: skip
    category = by[("category", "store")]
    assert category["classes"] == len(CATEGORIES) and category["folds"] == 4
    # Six bug categories: the majority class is right a quarter of the time, the classifier far more often.
    assert category["classifier"]["accuracy"] >= 0.6 > category["majority"] + 0.2
    assert 0 < category["baseline"]["accuracy"] < 1  # the term lists, measured on the same items
    router = by[("intent", "router")]
    assert router["items"] == 36 and router["classifier"]["accuracy"] > router["majority"]
    assert "generation" in router["note"]  # what the store taught it, per class


def test_predictions_sit_beside_labels_and_never_replace_them(labelled):
    before = labelled.store.con.execute("SELECT id, kind, category, metadata FROM revisions ORDER BY id").fetchall()
    report = classify(labelled)
    after = labelled.store.con.execute("SELECT id, kind, category, metadata FROM revisions ORDER BY id").fetchall()
    assert before == after
    tasks = {t.task: t for t in report.tasks}
    debug = labelled.samples.count("kind = debug_dialogue")
    assert tasks["category"].predicted == debug  # bug categories are predicted for debugging dialogues only
    assert tasks["category"].without_label == labelled.samples.count("kind = debug_dialogue and category is null")
    assert tasks["kind"].predicted == tasks["intent"].predicted == report.samples
    rows = labelled.store.con.execute(
        "SELECT task, count(*), min(score), max(score) FROM classifier_predictions GROUP BY task"
    )
    for task, n, low, high in rows.fetchall():
        assert n == tasks[task].predicted and 0 < low <= high <= 1
    # A Farore dialogue nobody categorised gets a suggestion from the taxonomy it learnt, and stays uncategorised.
    rid = labelled.store.con.execute(
        "SELECT id FROM samples WHERE kind = 'debug_dialogue' AND category IS NULL"
    ).fetchone()[0]
    assert predictions_for(labelled, [rid])[rid]["category"].label in CATEGORIES
    assert labelled.store.con.execute("SELECT category FROM revisions WHERE id = ?", [rid]).fetchone()[0] is None


def test_where_filters_on_predicted_labels_and_scores(labelled):
    assert tuple(TASKS) == PREDICTED_TASKS and ENUM_VALUES["predicted.intent"] == INTENTS
    per_label = "SELECT label, count(*) FROM classifier_predictions WHERE task = 'category' GROUP BY label"
    counts = dict(labelled.store.con.execute(per_label).fetchall())
    label, n = max(counts.items(), key=lambda kv: kv[1])
    assert labelled.samples.count(f"predicted.category = {label}") == n
    assert labelled.samples.count("predicted.category_score >= 0") == sum(counts.values())
    assert labelled.samples.count("predicted.category is null") == labelled.samples.count("kind != debug_dialogue")
    confident = labelled.store.con.execute(
        "SELECT count(*) FROM classifier_predictions WHERE task = 'intent' AND label = 'optimization' AND score > 0.5"
    ).fetchone()[0]
    assert (
        confident
        and labelled.samples.count("predicted.intent = optimization and predicted.intent_score > 0.5") == confident
    )
    with pytest.raises(FilterError, match="predicted tasks"):
        labelled.samples.count("predicted.mood = happy")
    with pytest.raises(FilterError, match=r"unknown predicted\.intent"):
        labelled.samples.count("predicted.intent = debugigng")


def test_retraining_reuses_an_unchanged_model_and_learns_a_reviewers_tag(labelled):
    first = {t.task: t for t in classify(labelled).tasks}
    assert all(t.model_reused for t in first.values())  # the fixture trained on the same labels
    rid = labelled.store.con.execute(
        "SELECT id FROM samples WHERE kind = 'debug_dialogue' AND category IS NULL ORDER BY id"
    ).fetchone()[0]
    with labelled.transaction():  # what `review pull` stores when a reviewer tags the category
        labelled.store.con.execute(
            "INSERT INTO reviews (revision_id, reviewer, status, category, pulled_at) "
            "VALUES (?, 'alice', 'submitted', 'stack_imbalance', now()::TIMESTAMP)",
            [rid],
        )
    again = {t.task: t for t in classify(labelled).tasks}
    assert not again["category"].model_reused and again["category"].model_id != first["category"].model_id
    assert again["category"].trained_on == first["category"].trained_on + 1
    assert again["category"].without_label == first["category"].without_label - 1
    assert again["kind"].model_reused  # its labels did not change
    assert (
        labelled.store.con.execute("SELECT count(*) FROM classifier_models WHERE task = 'category'").fetchone()[0] == 2
    )


def test_predicted_category_is_an_argilla_suggestion_only_where_none_was_given(labelled):
    from labeling.argilla.push import COLUMNS, _record

    rows = labelled.store.con.execute(
        f"SELECT {COLUMNS} FROM samples WHERE kind = 'debug_dialogue' ORDER BY id"
    ).fetchall()
    unlabelled = next(r for r in rows if r[2] is None)
    labelled_row = next(r for r in rows if r[2] is not None)
    predicted = predictions_for(labelled, [unlabelled[0], labelled_row[0]])
    labels = set(CATEGORIES)

    record = _record(unlabelled, labels, "[]", 1, None, None, predicted[unlabelled[0]])
    guess = predicted[unlabelled[0]]["category"]
    suggestion = next(s for s in record.suggestions if s.question_name == "category")
    assert (suggestion.value, suggestion.agent) == (guess.label, "triforge-classifier-v1")
    assert suggestion.score == pytest.approx(guess.score, abs=1e-6)
    assert record.metadata["predicted_category"] == guess.label
    assert record.metadata["predicted_intent"] == predicted[unlabelled[0]]["intent"].label
    assert 0 < record.metadata["predicted_kind_score"] <= 1

    record = _record(labelled_row, labels, "[]", 1, None, None, predicted[labelled_row[0]])
    suggestion = next(s for s in record.suggestions if s.question_name == "category")
    assert suggestion.value == labelled_row[2] and suggestion.agent != "triforge-classifier-v1"  # the file's label
    assert "predicted_category" in record.metadata  # the prediction stays visible, as metadata


def test_classify_command_json_and_evaluate(labelled, field_dir):
    labelled.close()  # the command opens the store itself
    runner = CliRunner()
    result = runner.invoke(app, ["classify", "--where", "kind = debug_dialogue", "--task", "category", "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    (task,) = out["tasks"]
    assert task["task"] == "category" and task["model_reused"] and task["predicted"] == out["samples"]
    assert task["agree"] + task["without_label"] + len(task["disagree"]) == task["predicted"]

    router = str(field_dir / "router_optimization_eval.jsonl")
    result = runner.invoke(app, ["classify", "--evaluate", "--task", "intent", "--evals", router, "--json"])
    assert result.exit_code == 0, result.output
    data = {e["data"]: e for e in json.loads(result.stdout)["evaluations"]}
    assert set(data) == {"store", "router"}  # one router class: nothing to cross-validate within it
    assert data["router"]["items"] == 12 and set(data["router"]["baseline"]) == {"accuracy", "macro_f1"}

    result = runner.invoke(app, ["classify", "--task", "mood"])
    assert result.exit_code == 2 and "unknown classifier task" in result.output


def test_the_head_predicts_as_scikit_learn_does_from_its_stored_weights():
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 8))
    for classes in (["a", "b"], ["a", "b", "c"]):
        y = [classes[i % len(classes)] for i in range(60)]
        head = LinearHead.fit(x, y)
        stored = json.loads(json.dumps(head.weights_json()))
        again = LinearHead.from_json(head.labels, stored, head.params.as_dict())
        reference = LogisticRegression(C=head.params.C, max_iter=head.params.max_iter, class_weight="balanced")
        reference.fit(x, y)
        assert np.allclose(again.probabilities(x), reference.predict_proba(x), atol=1e-6)


def test_keyword_rules_the_classifier_is_measured_against():
    assert keyword_intent("Optimize this 65816 code using block move") == "optimization"
    assert keyword_intent("Explain this 65816 code:\nLDA #$80\nSTA $2100") == "explanation"
    assert keyword_intent("Why does this crash?\nREP #$30") == "debugging"
    assert keyword_intent("Write a routine that plays sound effect $1B") == "generation"
    assert keyword_kind("LDA #$1234", "**Bug: 16-bit value in 8-bit mode**") == "debug_dialogue"
    text = "REP #$20 makes A 16-bit; the SEP #$20 later puts it back to 8-bit mode, so the width is wrong"
    assert term_category(text, ["mode_mismatch", "carry_flag", "stack_imbalance"]) == "mode_mismatch"
    assert term_category(text, ["not_a_category"]) is None
