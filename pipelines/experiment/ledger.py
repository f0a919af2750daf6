"""An experiment's ledger: its plan and each step's status and result, one row each in the store."""

from __future__ import annotations

from typing import Any

from curation.resources.experiments import StepRecord
from curation.workspace import Workspace
from pipelines.base import briefly
from pipelines.experiment.plan import ExperimentPlan


class StepLedger:
    """An experiment's plan and each step's status and result (``workspace.experiments``); the store is
    opened for each read or write and closed right after."""

    def __init__(self, workspace: Workspace, name: str) -> None:
        self.workspace = workspace
        self.name = name

    def stored_plan(self) -> ExperimentPlan | None:
        with briefly(self.workspace, read_only=True) as ws:
            raw = ws.experiments.plan_json(self.name)
        return ExperimentPlan.model_validate_json(raw) if raw else None

    def save_plan(self, plan: ExperimentPlan) -> None:
        with briefly(self.workspace) as ws:
            ws.experiments.create(plan.name, plan.model_dump_json())

    def steps(self) -> dict[str, StepRecord]:
        with briefly(self.workspace, read_only=True) as ws:
            return ws.experiments.steps(self.name)

    def save(self, step: str, status: str, data: dict[str, Any], error: str | None = None) -> None:
        with briefly(self.workspace) as ws:
            ws.experiments.save_step(self.name, step, status, data, error)
