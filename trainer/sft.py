"""``triforge train``: a LoRA adapter from a snapshot, with a manifest that says exactly how.

The store is read at the start (snapshot, gates, chat export) and written at the end (the run's row);
the workspace's store is closed in between, so a training run of hours never holds the single-writer
lock that imports, reviews and the service need. Every path (adapters, the cached base model) comes
from the Workspace the caller passes: nothing here reads the environment.
"""

from __future__ import annotations

import json
import shutil
import time
import tomllib
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from curation.clock import utc_now
from curation.errors import Conflict, Invalid, StoreError
from curation.export import export_snapshot
from curation.export.splits import SplitRatios
from curation.store import StoreLockedError
from curation.workspace import Workspace, WorkspacePaths
from schemas.training import TrainConfig, TrainingManifest
from trainer.base_models import resolve_base_model
from trainer.data import read_chat_jsonl, tokenize_rows
from trainer.gates import training_blockers
from trainer.hf import quiet_hf

ProgressFn = Callable[[int, int, dict[str, float]], None]
# CPU training of SmolLM2-135M on the field data (measured on 2 cores, see README "Training defaults"):
# the GPU defaults' 2e-4 with an effective batch of 16 and 2,048 tokens takes hours per epoch here, and a few
# steps of it only show batch-to-batch noise. A higher rate, small batches of short rows and a fixed budget
# of steps make the loss fall within minutes. All linear layers stay LoRA targets.
CPU_DEFAULTS: dict[str, Any] = {
    "learning_rate": 1e-3,
    "per_device_batch_size": 4,
    "gradient_accumulation_steps": 1,
    "max_length": 512,
    "max_steps": 60,
    "warmup_ratio": 0.1,
    "lora_dropout": 0.0,
}
LIBRARIES = ("torch", "transformers", "peft", "trl", "datasets", "accelerate", "triforge")


class TrainingRefused(Invalid):
    def __init__(self, snapshot: str, reasons: list[str]) -> None:
        lines = "\n".join(f"  - {r}" for r in reasons)
        super().__init__(f"refusing to train on snapshot {snapshot}:\n{lines}\n(--force trains anyway and records why)")
        self.reasons = reasons


@dataclass
class TrainingResult:
    manifest: TrainingManifest
    adapter_dir: Path
    log_history: list[dict[str, Any]] = field(default_factory=list)


def device_defaults(cuda: bool | None = None) -> TrainConfig:
    """The defaults for where training runs: on a GPU the field's settings for 7B coders (``TrainConfig()``);
    on a CPU the settings that make SmolLM2-135M learn within minutes (``CPU_DEFAULTS``)."""
    if cuda is None:
        import torch

        cuda = torch.cuda.is_available()
    return TrainConfig() if cuda else TrainConfig(**CPU_DEFAULTS)


def load_config(path: Path | None, *, base: TrainConfig | None = None) -> TrainConfig:
    """Read ``--config`` over the device's defaults: TOML (``[train]`` table or top level) or JSON; unknown
    keys are an error. A key the file does not set keeps the default of the device training runs on."""
    base = base or device_defaults()
    if path is None:
        return base
    text = Path(path).read_text(encoding="utf-8")
    if Path(path).suffix == ".json":
        data = json.loads(text)
    else:
        data = tomllib.loads(text)
        data = data.get("train", data)
    try:
        return TrainConfig.model_validate(base.model_dump() | dict(data))
    except (ValueError, TypeError) as exc:
        raise Invalid(f"{path}: {exc}") from exc


def library_versions() -> dict[str, str]:
    versions = {}
    for name in LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "absent"
    return versions


def default_adapter_dir(paths: WorkspacePaths, snapshot_name: str, run_id: str) -> Path:
    return paths.adapters / f"{snapshot_name}-{run_id[:8]}"


def _progress_callback(progress: ProgressFn):
    from transformers import TrainerCallback

    class RichProgress(TrainerCallback):
        """Feeds step, total and the latest loss to the CLI's progress bar."""

        last: dict[str, float] = {}  # noqa: RUF012 - one instance per run

        def on_log(self, args, state, control, logs=None, **kwargs):
            self.last = {k: float(v) for k, v in (logs or {}).items() if isinstance(v, int | float)}
            progress(state.global_step, state.max_steps, self.last)

        def on_step_end(self, args, state, control, **kwargs):
            progress(state.global_step, state.max_steps, self.last)

    return RichProgress()


def _lora_targets(model: Any, wanted: list[str]) -> list[str]:
    present = {name.rsplit(".", 1)[-1] for name, _ in model.named_modules()}
    targets = [m for m in wanted if m in present]
    if not targets:
        raise Invalid(
            f"none of the LoRA target modules {wanted} exist in this model (it has e.g. {sorted(present)[:8]})"
        )
    return targets


def train(
    workspace: Workspace,
    snapshot_ref: str,
    *,
    base_model: str = "smollm2",
    out: Path | None = None,
    config: TrainConfig | None = None,
    force: bool = False,
    eval_suites: list[Path] | None = None,
    progress: ProgressFn | None = None,
    overwrite: bool = False,
) -> TrainingResult:
    """Train a LoRA adapter on ``snapshot_ref``. The workspace's store is closed once the export is read
    and reopened to record the run, so whoever holds ``workspace`` gets it back closed."""
    config = config or device_defaults()
    run_id = uuid.uuid4().hex[:16]
    started = utc_now()

    # 1. Read what is needed from the store, then let go of it.
    try:
        snapshot = workspace.snapshots.resolve(snapshot_ref)
        blockers = training_blockers(workspace, snapshot.id, eval_suites=eval_suites)
        if blockers and not force:
            raise TrainingRefused(f"{snapshot.name} ({snapshot.id[:12]})", blockers)
        adapter_dir = Path(out) if out else default_adapter_dir(workspace.paths, snapshot.name, run_id)
        if adapter_dir.exists() and any(adapter_dir.iterdir()):
            if not overwrite:
                raise Conflict(f"{adapter_dir} is not empty; choose another --out or pass --overwrite")
            if not _looks_like_adapter_dir(adapter_dir):
                raise Conflict(f"{adapter_dir} does not look like an adapter directory; --overwrite will not delete it")
            shutil.rmtree(adapter_dir)
        exported = export_snapshot(
            workspace, snapshot.id, "chatml", adapter_dir / "data", ratios=SplitRatios(), seed=config.split_seed
        )
    finally:
        workspace.close()
    try:
        train_rows = read_chat_jsonl(adapter_dir / "data" / "train.jsonl")
        valid_rows = read_chat_jsonl(adapter_dir / "data" / "valid.jsonl") if config.eval_on_valid else []
        if not train_rows:
            raise Invalid(f"snapshot {snapshot.name} has no training rows after the split")

        # 2. Train (heavy imports only from here on).
        import torch
        from datasets import Dataset
        from peft import LoraConfig
        from transformers import AutoModelForCausalLM, AutoTokenizer, PrinterCallback
        from trl import SFTConfig, SFTTrainer

        quiet_hf()
        base = resolve_base_model(base_model, workspace.home)
        tokenizer = AutoTokenizer.from_pretrained(base.path)
        if tokenizer.pad_token is None:
            tokenizer.pad_token = tokenizer.eos_token
        train_split = tokenize_rows(tokenizer, train_rows, config.max_length)
        valid_split = tokenize_rows(tokenizer, valid_rows, config.max_length)
        if not train_split.rows:
            raise Invalid("no training row has an assistant token within max_length")

        cuda = torch.cuda.is_available()
        model = AutoModelForCausalLM.from_pretrained(base.path, dtype=torch.bfloat16 if cuda else torch.float32)
        lora = LoraConfig(
            r=config.lora_r,
            lora_alpha=config.lora_alpha,
            lora_dropout=config.lora_dropout,
            target_modules=_lora_targets(model, config.target_modules),
            task_type="CAUSAL_LM",
        )
        args = SFTConfig(
            output_dir=str(adapter_dir / "checkpoints"),
            per_device_train_batch_size=config.per_device_batch_size,
            per_device_eval_batch_size=config.per_device_batch_size,
            gradient_accumulation_steps=config.gradient_accumulation_steps,
            learning_rate=config.learning_rate,
            lr_scheduler_type=config.lr_scheduler,
            warmup_steps=config.warmup_ratio,  # a float in [0, 1) is a share of all steps
            num_train_epochs=config.epochs,
            max_steps=config.max_steps or -1,
            max_length=config.max_length,
            logging_steps=config.logging_steps,
            eval_strategy="no",
            save_strategy="no",
            report_to="none",
            seed=config.seed,
            data_seed=config.seed,
            bf16=cuda and torch.cuda.is_bf16_supported(),
            fp16=False,
            activation_checkpointing=cuda,  # saves GPU memory on 7B; on CPU it only costs time
            use_cpu=not cuda,
            disable_tqdm=True,
            dataloader_num_workers=0,
        )
        trainer = SFTTrainer(
            model=model,
            args=args,
            train_dataset=Dataset.from_list(train_split.rows),
            eval_dataset=Dataset.from_list(valid_split.rows) if valid_split.rows else None,
            processing_class=tokenizer,
            peft_config=lora,
            callbacks=[_progress_callback(progress)] if progress else None,
        )
        # With tqdm off, transformers prints every log dict to stdout; progress goes through `progress` instead.
        trainer.remove_callback(PrinterCallback)
        clock = time.perf_counter()
        outcome = trainer.train()
        metrics: dict[str, Any] = {k: round(float(v), 6) for k, v in outcome.metrics.items()}
        if valid_split.rows:
            metrics |= {k: round(float(v), 6) for k, v in trainer.evaluate().items()}
        losses = [round(float(e["loss"]), 6) for e in trainer.state.log_history if "loss" in e]
        metrics |= {
            "steps": trainer.state.global_step,
            "first_loss": losses[0] if losses else None,
            "last_loss": losses[-1] if losses else None,
            # Single small batches are noisy: the means of the first and last fifth say whether it learned.
            **smoothed_ends(losses),
            "train_rows": len(train_split.rows),
            "valid_rows": len(valid_split.rows),
            "truncated_rows": train_split.truncated + valid_split.truncated,
            "skipped_rows": train_split.skipped + valid_split.skipped,
            "assistant_tokens": train_split.assistant_tokens,
            "wall_seconds": round(time.perf_counter() - clock, 2),
            "device": "cuda" if cuda else "cpu",
        }

        # 3. The adapter, its tokenizer and manifest; then the store's row.
        trainer.model.save_pretrained(adapter_dir)
        tokenizer.save_pretrained(adapter_dir)
        shutil.rmtree(adapter_dir / "checkpoints", ignore_errors=True)
        manifest = TrainingManifest(
            run_id=run_id,
            snapshot_id=snapshot.id,
            snapshot_name=snapshot.name,
            snapshot_content_hash=snapshot.content_hash,
            base_model=base.name,
            base_model_path=str(base.path),
            base_model_sha256=base.sha256,
            config=config,
            data={"format": exported.format, "dir": "data", "files": exported.files},
            libraries=library_versions(),
            metrics=metrics,
            forced=bool(blockers) and force,
            overridden_blockers=blockers if force else [],
            started_at=started,
            finished_at=utc_now(),
        )
        (adapter_dir / "manifest.json").write_text(manifest.model_dump_json(indent=2) + "\n", encoding="utf-8")
        log_history = trainer.state.log_history
    except BaseException:
        # A failed or interrupted run leaves no half-written adapter behind to be mistaken for one.
        shutil.rmtree(adapter_dir, ignore_errors=True)
        raise
    # The adapter is complete from here on: a store that is busy now never costs the trained adapter.
    register_run(workspace, manifest, adapter_dir)
    return TrainingResult(manifest, adapter_dir, log_history)


def register_run(workspace: Workspace, manifest: TrainingManifest, adapter_dir: Path, *, wait_s: float = 120) -> None:
    """Record a finished run in ``training_runs`` (idempotent), waiting a while for a store another process
    holds; the workspace's store is closed again afterwards."""
    deadline = time.monotonic() + wait_s
    while True:
        try:
            try:
                workspace.training_runs.record(manifest, adapter_dir)
            finally:
                workspace.close()
            return
        except StoreLockedError as exc:
            if time.monotonic() > deadline:
                raise StoreError(
                    f"the adapter is complete at {adapter_dir}, but the run could not be recorded: {exc} "
                    f"Record it later with: triforge train --register {adapter_dir}"
                ) from exc
            time.sleep(2)


def smoothed_ends(losses: list[float]) -> dict[str, float | None]:
    """Mean training loss over the first and the last fifth of logged steps (at least one step each)."""
    if not losses:
        return {"loss_start": None, "loss_end": None}
    k = max(1, len(losses) // 5)
    return {"loss_start": round(sum(losses[:k]) / k, 4), "loss_end": round(sum(losses[-k:]) / k, 4)}


def _looks_like_adapter_dir(path: Path) -> bool:
    names = {p.name for p in path.iterdir()}
    return bool(names & {"manifest.json", "adapter_config.json"}) or names <= {"data", "checkpoints"}
