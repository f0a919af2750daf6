"""An experiment's gold set: reference answers scored by ``gold_nll``, frozen with the plan and held out of
every arm (the contamination check refuses a case an arm holds, or leaves it out when asked)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from curation.errors import Invalid
from curation.workspace import Workspace
from pipelines.base import briefly
from pipelines.experiment.ledger import StepLedger
from pipelines.experiment.plan import Arm
from trainer.evaluation.gold import GOLD_SUITE, GoldCase, gold_case, read_gold_file, write_gold_file


@dataclass(frozen=True)
class FrozenGold:
    """A gold set frozen for an experiment: the file, its sha256, how many cases, how many were dropped
    because an arm holds their prompt (only when asked to drop them instead of refusing)."""

    path: Path
    sha256: str
    cases: int
    dropped: int = 0


def freeze_gold(workspace: Workspace, name: str, spec: str, *, dropping_overlap_with: Sequence[Arm] = ()) -> FrozenGold:
    """The gold set as a file in the experiment's folder: ``spec`` is a JSONL file of chat rows, or a
    filter whose samples (prompt and approved answer) become the cases. ``dropping_overlap_with``: leave out
    the cases whose prompt these arms hold (exactly or nearly: a template can write two prompts alike);
    without it, :func:`refuse_gold_overlap` decides. An experiment already started from the same ``spec``
    keeps the cases it froze then."""
    stored = StepLedger(workspace, name).stored_plan()
    if stored is not None and stored.gold and stored.gold_source == spec:
        path = Path(stored.gold)
        return FrozenGold(path, stored.gold_sha256 or "", len(read_gold_file(path)))
    source = Path(spec).expanduser()
    if source.is_file():
        cases = read_gold_file(source)
    else:
        with briefly(workspace, read_only=True) as ws:
            ids = [row["id"] for row in ws.samples.list(spec, limit=100_000)]
            revisions = ws.samples.revisions(ids)
        if not revisions:
            raise Invalid(f"--gold {spec!r} is neither a file nor a filter that selects samples")
        cases = [
            gold_case(rid[:12], [m.model_dump(mode="json") for m in rev.messages], rev.category)
            for rid, rev in zip(ids, revisions, strict=True)
        ]
    overlap = gold_overlap(workspace, cases, list(dropping_overlap_with))
    kept = [case for case in cases if case.name not in overlap]
    if not kept:
        raise Invalid(f"every gold case of {spec!r} is in an arm's snapshot")
    path = workspace.paths.experiments / name / "gold.jsonl"
    return FrozenGold(path, write_gold_file(kept, path), len(kept), len(cases) - len(kept))


def gold_overlap(workspace: Workspace, gold: list[GoldCase], arms: list[Arm]) -> dict[str, str]:
    """The gold cases whose prompt an arm's snapshot holds, exactly or nearly (the check ``triforge
    contamination`` runs for eval suites): case name -> the first such arm's label."""
    from curation.contamination import PromptCase, find_leaks

    prompts = [PromptCase(GOLD_SUITE, case.name, case.prompt) for case in gold]
    found: dict[str, str] = {}
    with briefly(workspace, read_only=True) as ws:
        for arm in arms:
            for leak in find_leaks(ws.store, arm.snapshot_id, prompts):
                found.setdefault(leak.eval_id, arm.label)
    return found


def refuse_gold_overlap(workspace: Workspace, gold: list[GoldCase], arms: list[Arm]) -> None:
    """A gold case whose prompt is in an arm's training data scores memory, not skill: refuse the plan,
    naming the cases and the arm."""
    overlap = gold_overlap(workspace, gold, arms)
    if overlap:
        names = sorted(overlap)
        arm = next(a for a in arms if a.label == overlap[names[0]])
        raise Invalid(
            f"{len(names)} of {len(gold)} gold case(s) are in arm {arm.label}'s snapshot "
            f"({arm.snapshot_name}): {', '.join(names[:5])}{' ...' if len(names) > 5 else ''}; hold them "
            "out of every arm (e.g. `split < 20` for the gold set, `split >= 20` in each arm's filter), or "
            "leave them out of the gold set (--drop-overlapping-gold)"
        )
