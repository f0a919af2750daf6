"""What each experiment step hands on, as stored in ``experiment_steps``: a trained arm, an evaluated model.

The ledger keeps them as JSON rows; the run and the report read them back through these classes, so a
step's result has one shape, checked where it is loaded rather than probed key by key.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Self


class _LedgerRow:
    """A step result as its ledger row: the dataclass's fields, to JSON and back."""

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> Self:
        return cls(**data)

    def as_data(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ArmRun(_LedgerRow):
    """One adapter trained for one arm and seed."""

    adapter_dir: str
    run_id: str
    losses: list[list[float]]  # [step, loss] per logged step
    metrics: dict[str, Any]
    overridden_blockers: list[str] = field(default_factory=list)
    seconds: float | None = None


@dataclass(frozen=True)
class ModelEval(_LedgerRow):
    """One model (the base, or an arm's adapter) evaluated on the plan's cases."""

    eval_id: str
    model: str
    seconds: float | None = None


__all__ = ["ArmRun", "ModelEval"]
