"""What an experiment compares, fixed when it is first run.

An experiment is only fair if every arm gets the same base model, optimizer budget, seeds, training
config, eval cases and generation settings; the plan holds all of them, and a rerun that asks for
anything different is refused instead of silently mixing two set-ups in one report.
"""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field, field_validator

from schemas.training import TrainConfig

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


class Arm(BaseModel):
    """One training set: a snapshot, under the label the report uses for it. An arm given as a filter
    (``--arm LABEL=FILTER``) keeps the filter and the sample size it was frozen with."""

    model_config = ConfigDict(frozen=True)

    label: str
    snapshot_id: str
    snapshot_name: str
    where: str | None = None
    size: int | None = None

    def request(self) -> tuple[str, str | None, int | None]:
        """What the user asked for: a rerun that asks the same resumes instead of freezing again."""
        return self.label, self.where, self.size


class ExperimentPlan(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    arms: list[Arm] = Field(min_length=1)
    base_model: str = "smollm2"
    steps: int = Field(ge=1, description="Optimizer steps per adapter: the same budget for every arm")
    seeds: list[int] = Field(default_factory=lambda: [0], min_length=1)
    config: TrainConfig
    suites: list[str] = Field(min_length=1, description="Eval suite files")
    suite_sha256: str
    limit: int | None = Field(None, ge=1, description="At most N cases per suite")
    generation: dict[str, float | int]
    include_contaminated: bool = False
    gold: str | None = Field(None, description="The frozen gold cases (JSONL) scored by gold_nll")
    gold_sha256: str | None = None
    gold_source: str | None = Field(None, description="Where the gold cases came from: a file or a filter")

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not NAME.match(value):
            raise ValueError("an experiment name is letters, digits, '_', '.', '-' (at most 64)")
        return value

    def same_setup(self, other: ExperimentPlan) -> list[str]:
        """The settings in which ``other`` differs from this plan (empty: the same experiment)."""
        mine, theirs = self.model_dump(), other.model_dump()
        return [key for key in mine if mine[key] != theirs[key]]

    def train_step(self, arm: Arm, seed: int) -> str:
        return f"train:{arm.label}:seed{seed}"

    def eval_step(self, label: str, seed: int | None = None) -> str:
        return f"eval:{label}" + (f":seed{seed}" if seed is not None else "")
