"""Eval contamination: do a snapshot's training prompts contain the eval cases it will be scored on?

Eval files in the field's shapes are read: ``triforce_eval_cases.json`` (suites of ``{name, prompt}``)
and ``router_*_eval.jsonl`` (``{id, query}``), plus any JSONL/JSON of ``{prompt}``/``{query}``/chat rows.
Both sides are normalised like dedup (case, whitespace, markup, hex spelling). A leak is

- *exact*: the normalised eval prompt equals a training prompt, or one contains the other
  (an eval query pasted into a longer training instruction counts);
- *near*: at least ``threshold`` of the eval prompt's word 3-grams appear in one training prompt
  (containment, so a short eval prompt inside a long training prompt is still caught).

Containment is computed exactly with an inverted index over shingles, not estimated.
"""

from __future__ import annotations

import json
import re
import uuid
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path

from pydantic import ValidationError

from curation.clock import utc_now
from curation.dedup.normalize import normalize_text
from curation.importers.formats import BenchmarkRow, benchmark_prompt
from curation.store import StoreError
from curation.workspace import Workspace
from schemas.sample import Role

MIN_CONTAINED_CHARS = 24
SHINGLE = 3


@dataclass(frozen=True)
class PromptCase:
    """An eval case as the leak check sees it: which file, which case, its prompt (the scored case, with
    keywords and metrics, is ``schemas.training.PromptCase``)."""

    file: str
    case_id: str
    prompt: str


@dataclass
class Leak:
    eval_file: str
    eval_id: str
    eval_prompt: str
    revision_id: str
    kind: str  # exact | near
    containment: float
    jaccard: float


@dataclass
class ContaminationReport:
    id: str
    snapshot_id: str
    eval_files: list[str]
    evals: int
    threshold: float
    leaks: list[Leak] = field(default_factory=list)

    @property
    def leaked_evals(self) -> int:
        return len({(leak.eval_file, leak.eval_id) for leak in self.leaks})

    def as_dict(self) -> dict:
        return {
            "id": self.id,
            "snapshot_id": self.snapshot_id,
            "eval_files": self.eval_files,
            "evals": self.evals,
            "threshold": self.threshold,
            "leaked_evals": self.leaked_evals,
            "leaks": [asdict(leak) for leak in self.leaks],
        }


def load_eval_cases(path: Path) -> list[PromptCase]:
    """Read eval cases from the field's formats; raises StoreError naming the file and line."""
    path = Path(path)
    if not path.is_file():
        raise StoreError(f"{path}: no such eval file")
    text = path.read_text(encoding="utf-8")
    rows: list[tuple[str, dict]] = []
    if path.suffix == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise StoreError(f"{path}:{exc.lineno}: malformed JSON: {exc.msg}") from None
        if isinstance(data, dict) and isinstance(data.get("suites"), dict):
            for suite, cases in data["suites"].items():
                rows += [(f"{suite}/{c.get('name', i)}", c) for i, c in enumerate(cases, 1)]
        elif isinstance(data, list):
            rows = [(str(i), c) for i, c in enumerate(data, 1)]
        else:
            raise StoreError(f"{path}: expected a list of cases or {{suites: {{...}}}}")
    else:
        for n, line in enumerate(text.splitlines(), 1):
            if line.strip():
                try:
                    rows.append((str(n), json.loads(line)))
                except json.JSONDecodeError as exc:
                    raise StoreError(f"{path}:{n}: malformed JSON: {exc.msg}") from None
    cases = []
    for fallback_id, row in rows:
        if not isinstance(row, dict):
            raise StoreError(f"{path}: case {fallback_id} is not an object")
        prompt = row.get("prompt") or row.get("query") or row.get("instruction")
        if prompt is None and isinstance(row.get("messages"), list):
            prompt = next((m.get("content") for m in row["messages"] if m.get("role") == "user"), None)
        if prompt is None and {"code", "expected_output"} <= row.keys():
            prompt = _benchmark_prompt(path, fallback_id, row)
        if not isinstance(prompt, str) or not prompt.strip():
            raise StoreError(f"{path}: case {fallback_id} has no prompt/query text")
        cases.append(PromptCase(path.name, str(row.get("id") or fallback_id), prompt))
    return cases


def _benchmark_prompt(path: Path, case_id: str, row: dict) -> str:
    """A benchmark row's prompt as the importer writes it, so the same row imported for training is caught."""
    try:
        return benchmark_prompt(BenchmarkRow.model_validate(row))
    except ValidationError as exc:
        raise StoreError(f"{path}: case {case_id} is not a valid benchmark row: {exc.errors()[0]['msg']}") from None


_TOKEN = re.compile(r"[\w$#%.]+")


def _shingles(text: str) -> set[tuple[str, ...]]:
    """Word 3-grams over tokens that keep asm operands whole (``#$01``, ``$4300``) but drop
    punctuation, so "this?" and "this" are the same word."""
    words = [w.strip(".") for w in _TOKEN.findall(text) if w.strip(".")]
    if len(words) < SHINGLE:
        return {tuple(words)} if words else set()
    return {tuple(words[i : i + SHINGLE]) for i in range(len(words) - SHINGLE + 1)}


def find_leaks(
    workspace: Workspace, snapshot_id: str, cases: list[PromptCase], *, threshold: float = 0.6
) -> list[Leak]:
    """Every (eval case, training sample) pair of a snapshot that leaks, exact or near."""
    prompts: dict[str, str] = {}
    for rid, rev in workspace.snapshots.stored_members(snapshot_id):
        prompts[rid] = normalize_text("\n".join(m.content for m in rev.messages if m.role == Role.user))
    train_shingles = {rid: _shingles(p) for rid, p in prompts.items()}
    inverted: dict[tuple[str, ...], list[str]] = defaultdict(list)
    for rid, shingles in train_shingles.items():
        for s in shingles:
            inverted[s].append(rid)
    leaks: list[Leak] = []
    for case in cases:
        norm = normalize_text(case.prompt)
        mine = _shingles(norm)
        overlap: dict[str, int] = defaultdict(int)
        for s in mine:
            for rid in inverted.get(s, ()):
                overlap[rid] += 1
        for rid, prompt in prompts.items():
            exact = (
                norm == prompt
                or (len(norm) >= MIN_CONTAINED_CHARS and norm in prompt)
                or (len(prompt) >= MIN_CONTAINED_CHARS and prompt in norm)
            )
            shared = overlap.get(rid, 0)
            if not exact and not shared:
                continue
            containment = shared / len(mine) if mine else 0.0
            union = len(mine) + len(train_shingles[rid]) - shared
            jaccard = shared / union if union else 0.0
            if exact or containment >= threshold:
                leaks.append(
                    Leak(
                        case.file,
                        case.case_id,
                        case.prompt,
                        rid,
                        "exact" if exact else "near",
                        round(containment, 4),
                        round(jaccard, 4),
                    )
                )
    return leaks


def _check_threshold(threshold: float) -> None:
    if not 0.0 < threshold <= 1.0:
        raise StoreError("threshold must be in (0, 1]")


def check_contamination(
    workspace: Workspace, snapshot_ref: str, eval_files: list[Path], *, threshold: float = 0.6, record: bool = True
) -> ContaminationReport:
    """Check the eval cases in ``eval_files`` against a snapshot (see :func:`check_cases`)."""
    _check_threshold(threshold)
    cases = [case for path in eval_files for case in load_eval_cases(path)]
    return check_cases(workspace, snapshot_ref, cases, [str(p) for p in eval_files], threshold=threshold, record=record)


def check_cases(
    workspace: Workspace,
    snapshot_ref: str,
    cases: list[PromptCase],
    sources: list[str],
    *,
    threshold: float = 0.6,
    record: bool = True,
) -> ContaminationReport:
    """Which of ``cases`` a snapshot's training prompts contain; ``sources`` names where the cases came
    from in the report (file paths on the CLI, the request on the API - never a server path)."""
    _check_threshold(threshold)
    snapshot = workspace.snapshots.resolve(snapshot_ref)
    report = ContaminationReport(uuid.uuid4().hex[:16], snapshot.id, sources, len(cases), threshold)
    report.leaks = find_leaks(workspace, snapshot.id, cases, threshold=threshold)
    if record:
        workspace.snapshots.record_contamination_check(
            [
                report.id,
                snapshot.id,
                json.dumps(report.eval_files),
                json.dumps({"threshold": threshold}),
                report.evals,
                report.leaked_evals,
                json.dumps(report.as_dict()["leaks"]),
                utc_now(),
            ]
        )
    return report


def latest_check(workspace: Workspace, snapshot_id: str) -> dict | None:
    """The most recent recorded check for a snapshot (the dataset card quotes it)."""
    row = workspace.snapshots.latest_contamination_check(snapshot_id)
    if not row:
        return None
    cid, files, evals, leaks, params, created = row
    return {
        "id": cid,
        "eval_files": [Path(f).name for f in json.loads(files)],
        "evals": evals,
        "leaked_evals": leaks,
        "threshold": json.loads(params)["threshold"],
        "checked_at": created,
    }
