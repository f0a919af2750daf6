"""An experiment's gold set: reference answers scored by ``gold_nll``, frozen with the plan and held out of
every arm (the contamination check refuses a case an arm holds, or leaves it out when asked)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from curation.contamination import PromptCase, find_leaks
from curation.errors import Invalid
from curation.workspace import Workspace
from pipelines.base import briefly
from pipelines.experiment.ledger import StepLedger
from pipelines.experiment.plan import Arm
from trainer.evaluation.gold import GOLD_SUITE, GoldCase, gold_case, read_gold_file, write_gold_file


@dataclass(frozen=True)
class FrozenGold:
    """A gold set frozen for an experiment: where it came from (a file or a filter), the frozen file, its
    sha256, how many cases, and how many were left out because an arm holds their prompt."""

    source: str
    path: Path
    sha256: str
    cases: int
    dropped: int = 0

    def plan_fields(self) -> dict[str, str]:
        """The ``ExperimentPlan`` fields that name this gold set."""
        return {"gold": str(self.path), "gold_sha256": self.sha256, "gold_source": self.source}


def freeze_gold(
    workspace: Workspace, name: str, spec: str, arms: Sequence[Arm], *, drop_overlap: bool = False
) -> FrozenGold:
    """The gold set as a file in the experiment's folder: ``spec`` is a JSONL file of chat rows, or a filter
    whose samples (prompt and approved answer) become the cases. A case whose prompt an arm's snapshot holds
    (exactly or nearly, the check ``triforge contamination`` runs) scores memory, not skill: the plan is
    refused, naming the cases and the arm - or, with ``drop_overlap``, those cases are left out (a template
    can write two prompts alike across any split). An experiment already started from the same ``spec``
    keeps the cases it froze then."""
    stored = StepLedger(workspace, name).stored_plan()
    if stored is not None and stored.gold and stored.gold_source == spec:
        path = Path(stored.gold)
        return FrozenGold(spec, path, stored.gold_sha256 or "", len(read_gold_file(path)))
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
    overlap = _overlap(workspace, cases, arms)
    if overlap and not drop_overlap:
        names = sorted(overlap)
        arm = next(a for a in arms if a.label == overlap[names[0]])
        raise Invalid(
            f"{len(names)} of {len(cases)} gold case(s) are in arm {arm.label}'s snapshot "
            f"({arm.snapshot_name}): {', '.join(names[:5])}{' ...' if len(names) > 5 else ''}; hold them "
            "out of every arm (e.g. `split < 20` for the gold set, `split >= 20` in each arm's filter), or "
            "leave them out of the gold set (--drop-overlapping-gold)"
        )
    kept = [case for case in cases if case.name not in overlap]
    if not kept:
        raise Invalid(f"every gold case of {spec!r} is in an arm's snapshot")
    path = workspace.paths.experiments / name / "gold.jsonl"
    return FrozenGold(spec, path, write_gold_file(kept, path), len(kept), len(cases) - len(kept))


def _overlap(workspace: Workspace, gold: list[GoldCase], arms: Sequence[Arm]) -> dict[str, str]:
    """The gold cases whose prompt an arm's snapshot holds, exactly or nearly: case name -> the first such
    arm's label."""
    prompts = [PromptCase(GOLD_SUITE, case.name, case.prompt) for case in gold]
    found: dict[str, str] = {}
    with briefly(workspace, read_only=True) as ws:
        for arm in arms:
            for leak in find_leaks(ws, arm.snapshot_id, prompts):
                found.setdefault(leak.eval_id, arm.label)
    return found
