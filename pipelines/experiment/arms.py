"""An experiment's arms: snapshots named on the command line, or filters frozen into snapshots."""

from __future__ import annotations

import re

from curation.errors import Invalid
from curation.filters import compile_filter
from curation.workspace import Workspace
from pipelines.base import briefly
from pipelines.experiment.ledger import StepLedger
from pipelines.experiment.plan import Arm

_LABEL = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{0,31}$")


def parse_arm_filter(text: str) -> tuple[str, str]:
    """``LABEL=FILTER`` (the filter may hold ``=`` itself: the label ends at the first one)."""
    label, sep, where = text.partition("=")
    label, where = label.strip(), where.strip()
    if not sep or not _LABEL.match(label) or not where:
        raise Invalid(f'an arm is LABEL=FILTER, e.g. curated="validation = passed"; got {text!r}')
    compile_filter(where)  # a typo is an error now, not after the first arm has trained
    return label, where


def freeze_arms(
    workspace: Workspace, name: str, filters: list[tuple[str, str]], *, size: int | None = None, seed: int = 0
) -> list[Arm]:
    """One snapshot per arm, ``NAME-LABEL``, of what its filter selects now (``size``: a random ``size`` of
    each, the same for the same seed); a snapshot that already holds exactly those samples is reused under
    its own name (snapshots are immutable and named by content). An experiment already started with these
    arms resumes on the snapshots it froze then, whatever the store holds now; other arms are refused."""
    stored = StepLedger(workspace, name).stored_plan()
    requested = [(label, where, size) for label, where in filters]
    if stored is not None:
        if [a.request() for a in stored.arms] != requested:
            raise Invalid(
                f"experiment {name!r} already exists with other arms "
                f"({', '.join(f'{a.label}={a.where or a.snapshot_name}' for a in stored.arms)}); "
                "rerun it with the same arms, or choose a new name"
            )
        return list(stored.arms)
    _unique_labels([label for label, _ in filters])
    arms = []
    with briefly(workspace) as ws:
        for label, where in filters:
            snap = ws.snapshots.create(
                f"{name}-{label}", where, exist_ok=True, reuse_same_members=True, sample=size, sample_seed=seed
            )
            arms.append(Arm(label=label, snapshot_id=snap.id, snapshot_name=snap.name, where=where, size=size))
    return arms


def _unique_labels(labels: list[str]) -> None:
    if len(set(labels)) != len(labels) or "base" in labels:
        raise Invalid(f"arm labels must be unique and not 'base': {labels}")


def resolve_arms(workspace: Workspace, refs: list[str]) -> list[Arm]:
    """``curated`` or ``label=snapshot``: each snapshot (name, id or prefix) under its report label."""
    arms = []
    with briefly(workspace, read_only=True) as ws:
        for ref in refs:
            label, _, snap_ref = ref.partition("=") if "=" in ref else (ref, "", ref)
            snapshot = ws.snapshots.resolve(snap_ref)
            arms.append(Arm(label=label, snapshot_id=snapshot.id, snapshot_name=snapshot.name))
    _unique_labels([a.label for a in arms])
    return arms
