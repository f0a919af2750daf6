"""``triforge classify --evaluate``: how well the classifier labels, next to the keyword rules.

Two measurements, both with the baseline (``baseline.py``) scored on exactly the same items:

- **store**: stratified k-fold cross-validation per task on the store's labelled samples (after
  ``make demo``, the field data). Folds are grouped by near-duplicate cluster (``duplicate_of`` from
  the latest dedup run), so a sample and its copy never sit on both sides of a split. Classes with a
  single labelled sample cannot be both trained on and tested, so they are left out (and counted).
- **router**: the field's router eval files (``router_*_eval.jsonl``: a query and its
  ``expected_intent``). ``router`` trains the intent head on the store and classifies every query - how
  the router would meet them; ``router-cv`` is k-fold cross-validation within the eval queries themselves.

Scores are accuracy and macro-F1 over the true classes, for cross-validation the mean over three
shuffles of the folds; ``majority`` is the accuracy of always answering the most common class, the
floor any rule has to beat. The keyword rules need no training, so they are scored once on all items.
"""

from __future__ import annotations

import json
import warnings
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from curation.classify.baseline import keyword_intent, keyword_kind, term_category
from curation.classify.features import embed_texts, prompt_text
from curation.classify.model import CLASSIFIER, DEFAULT_PARAMS, HeadParams, LinearHead
from curation.classify.service import VectorCache
from curation.classify.tasks import INTENTS, TASKS, SampleLabels, load_labels
from curation.classify.training import training_set
from curation.eval_suites import load_suite_file
from curation.store import StoreError
from curation.workspace import Workspace
from schemas.sample import prompt_and_answer

REPEATS = 3


@dataclass
class Scores:
    accuracy: float
    macro_f1: float


@dataclass
class Evaluation:
    task: str
    data: str  # store | router | router-cv
    items: int
    classes: int
    folds: int | None  # None: trained on the store, tested on every item once
    classifier: Scores  # the mean over REPEATS shuffles of the folds
    baseline: Scores
    majority: float
    left_out: dict[str, int] = field(default_factory=dict)  # classes too small to test, with their sizes
    note: str | None = None


def score(truth: Sequence[str], predicted: Sequence[str | None]) -> Scores:
    from sklearn.metrics import accuracy_score, f1_score

    guesses = [p if p is not None else "<none>" for p in predicted]
    labels = sorted(set(truth))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        f1 = f1_score(list(truth), guesses, labels=labels, average="macro", zero_division=0)
    return Scores(round(float(accuracy_score(list(truth), guesses)), 4), round(float(f1), 4))


def majority(truth: Sequence[str]) -> float:
    return round(Counter(truth).most_common(1)[0][1] / len(truth), 4) if truth else 0.0


def repeated_cv(
    vectors: np.ndarray, labels: Sequence[str], groups: Sequence[str], folds: int, params: HeadParams
) -> tuple[Scores, int]:
    """Mean scores over ``REPEATS`` differently shuffled fold assignments: on a hundred items one
    fold assignment alone moves accuracy by a point or two."""
    runs = []
    for seed in range(REPEATS):
        predicted, n_splits = cross_validated(vectors, labels, groups, folds, params, seed)
        runs.append(score(labels, predicted))
    mean = Scores(
        round(sum(r.accuracy for r in runs) / len(runs), 4), round(sum(r.macro_f1 for r in runs) / len(runs), 4)
    )
    return mean, n_splits


def cross_validated(
    vectors: np.ndarray, labels: Sequence[str], groups: Sequence[str], folds: int, params: HeadParams, seed: int = 0
) -> tuple[list[str], int]:
    """Out-of-fold predictions (stratified, grouped) and the number of folds used."""
    from sklearn.model_selection import StratifiedGroupKFold

    n_splits = max(2, min(folds, len(set(groups))))
    splitter = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    predicted: list[str] = [""] * len(labels)
    y = np.asarray(labels)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "least populated class has fewer members than n_splits"
        splits = list(splitter.split(vectors, y, groups=list(groups)))
    for train, test in splits:
        if len(set(y[train])) < 2:
            head_labels = [str(y[train][0])] * len(test)
        else:
            head = LinearHead.fit(vectors[train], list(y[train]), params)
            head_labels = [label for label, _ in head.predict(vectors[test])]
        for i, label in zip(test, head_labels, strict=True):
            predicted[i] = label
    return predicted, n_splits


def _texts(workspace: Workspace, ids: Sequence[str]) -> dict[str, tuple[str, str]]:
    """Raw (prompt, answer) per revision: keyword rules read text as written, capitals and all."""
    rows = workspace.samples.messages(ids)
    found = {}
    for rid, messages in rows:
        turns = json.loads(messages)
        _, answer = prompt_and_answer(turns)
        found[rid] = (prompt_text(turns), answer)
    return found


def _baseline(task: str, prompt: str, answer: str, classes: Sequence[str]) -> str | None:
    if task == "kind":
        return keyword_kind(prompt, answer)
    if task == "intent":
        return keyword_intent(prompt)
    return term_category(f"{prompt}\n{answer}", classes)


def evaluate_store(
    workspace: Workspace,
    task: str,
    samples: Sequence[SampleLabels],
    vectors: VectorCache,
    folds: int = 5,
    params: HeadParams = DEFAULT_PARAMS,
) -> Evaluation | str:
    """Cross-validate one task on the store's labelled samples; a string says why it cannot be."""
    pairs = training_set(task, samples)
    sizes = Counter(label for _, label in pairs)
    left_out = {label: n for label, n in sizes.items() if n < 2}
    pairs = [(rid, label) for rid, label in pairs if label not in left_out]
    if len({label for _, label in pairs}) < 2:
        return f"needs at least two classes with two or more labelled samples (has {dict(sizes) or 'none'})"
    ids, labels = [rid for rid, _ in pairs], [label for _, label in pairs]
    group_of = {s.id: s.group for s in samples}
    scores, n_splits = repeated_cv(vectors(ids), labels, [group_of[i] for i in ids], folds, params)
    texts, classes = _texts(workspace, ids), sorted(set(labels))
    baseline = [_baseline(task, *texts[rid], classes) for rid in ids]
    return Evaluation(
        task, "store", len(ids), len(classes), n_splits, scores, score(labels, baseline),
        majority(labels), dict(sorted(left_out.items())),
    )  # fmt: skip


def router_queries(files: Sequence[Path]) -> list[tuple[str, str]]:
    """``(query, expected_intent)`` from router eval files (rows without a router intent are skipped)."""
    queries = []
    for path in files:
        for case in load_suite_file(Path(path)):
            if case.category in INTENTS:
                queries.append((case.prompt, case.category))
    return queries


def evaluate_router(
    workspace: Workspace,
    samples: Sequence[SampleLabels],
    vectors: VectorCache,
    files: Sequence[Path],
    folds: int = 5,
    params: HeadParams = DEFAULT_PARAMS,
) -> list[Evaluation]:
    queries = router_queries(files)
    if not queries:
        raise StoreError(f"no router eval cases (query + expected_intent) in {', '.join(map(str, files))}")
    prompts, truth = [q for q, _ in queries], [t for _, t in queries]
    query_vectors = embed_texts(prompts)
    baseline = score(truth, [keyword_intent(p) for p in prompts])
    results = []
    pairs = training_set("intent", samples)
    if len({label for _, label in pairs}) >= 2:
        head = LinearHead.fit(vectors([rid for rid, _ in pairs]), [lab for _, lab in pairs], params)
        predicted = [label for label, _ in head.predict(query_vectors)]
        counts = Counter(label for _, label in pairs)
        note = "trained on the store: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
        results.append(
            Evaluation("intent", "router", len(truth), len(set(truth)), None, score(truth, predicted),
                       baseline, majority(truth), note=note)
        )  # fmt: skip
    if len(set(truth)) < 2:  # one intent (a single router file): nothing to tell apart within it
        return results
    scores, n_splits = repeated_cv(query_vectors, truth, [str(i) for i in range(len(truth))], folds, params)
    results.append(
        Evaluation("intent", "router-cv", len(truth), len(set(truth)), n_splits, scores, baseline,
                   majority(truth))
    )  # fmt: skip
    return results


@dataclass
class EvaluationReport:
    classifier: str
    evaluations: list[Evaluation]
    skipped: dict[str, str]
    router_files: list[str]

    def as_dict(self) -> dict[str, Any]:
        return {
            "classifier": self.classifier,
            "evaluations": [asdict(e) for e in self.evaluations],
            "skipped": self.skipped,
            "router_files": self.router_files,
        }


def evaluate(
    workspace: Workspace,
    tasks: Sequence[str] = tuple(TASKS),
    router_files: Sequence[Path] = (),
    folds: int = 5,
    params: HeadParams = DEFAULT_PARAMS,
) -> EvaluationReport:
    """Every task by cross-validation on the store, and intent on the router files when given."""
    if folds < 2:
        raise StoreError("--folds must be at least 2")
    samples = load_labels(workspace)
    vectors = VectorCache(workspace)
    report = EvaluationReport(CLASSIFIER, [], {}, [str(p) for p in router_files])
    for task in tasks:
        result = evaluate_store(workspace, task, samples, vectors, folds, params)
        if isinstance(result, str):
            report.skipped[task] = result
        else:
            report.evaluations.append(result)
    if router_files and "intent" in tasks:
        report.evaluations += evaluate_router(workspace, samples, vectors, router_files, folds, params)
    return report
