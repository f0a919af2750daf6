"""Training and evaluation records: what an adapter learned from, and how it scored.

A training manifest travels with the adapter (``manifest.json`` in its directory) and is stored in
the ``training_runs`` table, so an adapter found on disk and a row in the store tell the same story.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

DEFAULT_TARGET_MODULES = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


class TrainConfig(BaseModel):
    """LoRA SFT settings. The defaults are the ones the field's experts converged on for 7B coders;
    ``--config FILE`` (TOML or JSON) overrides any of them."""

    model_config = ConfigDict(extra="forbid")

    lora_r: int = Field(16, ge=1)
    lora_alpha: int = Field(32, ge=1)
    lora_dropout: float = Field(0.05, ge=0.0, lt=1.0)
    target_modules: list[str] = Field(default_factory=lambda: list(DEFAULT_TARGET_MODULES))
    learning_rate: float = Field(2e-4, gt=0)
    lr_scheduler: str = "cosine"
    warmup_ratio: float = Field(0.03, ge=0.0, lt=1.0)
    per_device_batch_size: int = Field(4, ge=1)
    gradient_accumulation_steps: int = Field(4, ge=1, description="4 x 4 = an effective batch of 16")
    max_length: int = Field(2048, ge=16)
    epochs: float = Field(3.0, gt=0)
    max_steps: int | None = Field(None, ge=1, description="Stop after this many optimizer steps (overrides epochs)")
    seed: int = 0
    split_seed: int = Field(0, description="Seed of the export's train/valid/test split")
    eval_on_valid: bool = True
    logging_steps: int = Field(1, ge=1)

    @property
    def effective_batch_size(self) -> int:
        return self.per_device_batch_size * self.gradient_accumulation_steps


class TrainingManifest(BaseModel):
    """Everything needed to reproduce or audit an adapter."""

    run_id: str
    snapshot_id: str
    snapshot_name: str
    snapshot_content_hash: str
    base_model: str
    base_model_path: str
    base_model_sha256: str
    config: TrainConfig
    data: dict[str, Any] = Field(description="The chat export trained on: files, rows and their sha256")
    libraries: dict[str, str]
    metrics: dict[str, Any]
    forced: bool = False
    overridden_blockers: list[str] = Field(default_factory=list)
    started_at: datetime
    finished_at: datetime


class EvalCase(BaseModel):
    """One eval case: a prompt, the keywords a good answer names, and what kind of task it is.

    Cases come from ``triforce_eval_cases.json`` suites, the router eval files and benchmark rows (see
    ``curation/eval_suites.py``). ``kind`` decides which validator-based scorers apply (a
    diagnosis-first structure is only asked of debugging answers); ``bug_category`` names the term list
    the ``terminology`` scorer checks, when the case is about a known bug.
    """

    suite: str
    name: str
    prompt: str
    expected_keywords: list[str]
    anti_keywords: list[str] = Field(default_factory=list)
    category: str | None = None
    kind: str | None = None
    bug_category: str | None = None
    # A case made from a bug-injection template carries its executable spec (``curation.asm.behaviour``):
    # the model's fixed code is run against it (``fix_passes``).
    behaviour: dict[str, Any] | None = None
    buggy_code: str | None = None


class CaseScore(BaseModel):
    """One rule's verdict on one response."""

    score: float
    passed: bool
    found: list[str]
    missing: list[str]
    anti_found: list[str]
