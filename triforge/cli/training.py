"""``triforge train``, ``triforge lineage`` and ``triforge serve-model``: an adapter made, traced, served."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer
import uvicorn

from schemas.training import TrainingManifest
from trainer.generation import load_model
from trainer.serving import create_model_app
from trainer.sft import load_config, register_run, train
from triforge.cli.common import (
    console,
    current_home,
    err_console,
    open_workspace,
    print_json,
    progress_bar,
    simple_table,
    user_errors,
)


@user_errors
def train_command(
    snapshot: Annotated[str | None, typer.Argument(help="Snapshot name or id")] = None,
    base_model: Annotated[
        str, typer.Option(help="'smollm2' (shipped, converted once) or a local model directory, e.g. Qwen2.5-Coder-7B")
    ] = "smollm2",
    out: Annotated[Path | None, typer.Option(help="Adapter directory (default HOME/adapters/...)")] = None,
    config: Annotated[Path | None, typer.Option(help="TOML or JSON overriding the LoRA/SFT defaults")] = None,
    max_steps: Annotated[int | None, typer.Option(help="Stop after N optimizer steps (overrides epochs)")] = None,
    force: Annotated[bool, typer.Option(help="Train despite failing validations or eval contamination")] = False,
    overwrite: Annotated[bool, typer.Option(help="Replace a non-empty --out directory")] = False,
    evals: Annotated[
        list[Path] | None, typer.Option("--evals", help="Eval suites for the contamination gate (default: bundled)")
    ] = None,
    register: Annotated[
        Path | None, typer.Option(help="Only record a finished adapter whose run the store missed (it was busy)")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """LoRA-train a base model on a snapshot's chat export; writes the adapter and its manifest."""

    if register is not None:
        manifest_file = register / "manifest.json"
        if not manifest_file.is_file():
            raise typer.BadParameter(f"{manifest_file} does not exist", param_hint="--register")
        manifest = TrainingManifest.model_validate_json(manifest_file.read_text())
        with open_workspace() as workspace:
            register_run(workspace, manifest, register)
        console.print(f"recorded the run of {register}")
        return
    if snapshot is None:
        raise typer.BadParameter("give a snapshot (or --register ADAPTER_DIR)", param_hint="SNAPSHOT")

    settings = load_config(config)
    if max_steps is not None:
        settings = settings.model_copy(update={"max_steps": max_steps})
    with open_workspace() as workspace, progress_bar(disable=as_json) as bar:
        task = bar.add_task("preparing (snapshot, gates, export, base model)", total=None)

        def on_progress(step: int, total: int, logs: dict[str, float]) -> None:
            loss = logs.get("loss")
            text = f"training  loss {loss:.3f}" if loss is not None else "training"
            bar.update(task, completed=step, total=total or None, description=text)

        result = train(
            workspace,
            snapshot,
            base_model=base_model,
            out=out,
            config=settings,
            force=force,
            eval_suites=evals,
            progress=on_progress,
            overwrite=overwrite,
        )
    manifest = result.manifest
    if as_json:
        print_json(manifest.model_dump(mode="json") | {"adapter_dir": str(result.adapter_dir)})
        return
    m = manifest.metrics
    if manifest.forced:
        err_console.print("[yellow]forced past:[/] " + "; ".join(manifest.overridden_blockers))
    console.print(
        f"[green]adapter[/] {result.adapter_dir}  run {manifest.run_id}\n"
        f"  snapshot {manifest.snapshot_name} ({manifest.snapshot_id[:12]}), base {manifest.base_model} "
        f"({manifest.base_model_sha256[:12]})\n"
        f"  {m['steps']} steps on {m['train_rows']} rows ({m['assistant_tokens']} assistant tokens), "
        f"loss {_num(m['first_loss'])} -> {_num(m['last_loss'])}"
        + (f", eval loss {m['eval_loss']:.4f} on {m['valid_rows']} valid rows" if "eval_loss" in m else "")
        + f", {m['wall_seconds']} s on {m['device']}"
    )


def _num(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


@user_errors
def lineage_command(
    adapter: Annotated[str, typer.Argument(help="Adapter directory or training run id")],
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """The snapshot an adapter learned from, its samples' sources and reviewers, and its evals."""
    with open_workspace(read_only=True) as workspace:
        info = workspace.training_runs.lineage(adapter)  # adapter -> run -> snapshot -> sources, reviewers
    if as_json:
        print_json(info.as_dict())
        return
    run, snap = info.training_run, info.snapshot
    console.print(
        f"[bold]adapter[/] {run.adapter_path} (run {run.id}, base {run.base_model}, "
        f"{'forced, ' if run.forced else ''}finished {str(run.finished_at)[:19]})\n"
        f"[bold]snapshot[/] {snap.name} {snap.id[:12]}: {snap.members} samples, where {snap.where!r}, "
        f"content hash {'unchanged' if snap.content_hash_matches else '[red]CHANGED since training[/]'}"
    )
    sources = [(x.source_type, x.source_name, x.samples) for x in info.sources]
    console.print(simple_table("sources", ("source type", "source", "samples"), sources))
    if info.reviewers:
        reviewers = [(x.reviewer, x.decision, x.samples) for x in info.reviewers]
        console.print(simple_table("reviewers", ("reviewer", "decision", "samples"), reviewers))
    else:
        console.print("reviewers: none recorded (no member went through review)")
    for e in info.evals:
        console.print(f"eval {e.id} ({str(e.created_at)[:19]}): word mean {e.overall['word']['mean_score']:.3f}")


@user_errors
def serve_model_command(
    model: Annotated[str, typer.Argument(help="Adapter dir from triforge train, a model dir, or 'smollm2'")],
    host: Annotated[str, typer.Option(help="Interface; loopback unless you mean to share the model")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535)] = 8008,
    api_key_env: Annotated[
        str | None, typer.Option(help="Environment variable holding a key clients must send as Bearer")
    ] = None,
    max_tokens: Annotated[int, typer.Option(min=1, max=2048, help="Default completion length")] = 512,
) -> None:
    """Serve a model as an OpenAI-compatible /v1/chat/completions (for the teacher proposer and any OpenAI tool)."""

    api_key = None
    if api_key_env:
        api_key = os.environ.get(api_key_env)
        if not api_key:
            raise typer.BadParameter(f"${api_key_env} is empty", param_hint="--api-key-env")
    if host not in ("127.0.0.1", "localhost", "::1") and not api_key:
        raise typer.BadParameter("serving beyond loopback needs --api-key-env: anyone who can reach it could use it")
    with progress_bar(disable=False) as bar:
        bar.add_task(f"loading {model}", total=None)
        loaded = load_model(model, home=current_home())
    console.print(
        f"serving [bold]{loaded.name}[/] (base {loaded.base_model}) at http://{host}:{port}/v1 "
        f"as model {loaded.name!r}{' (Bearer key required)' if api_key else ''}"
    )
    uvicorn.run(create_model_app(loaded, api_key=api_key, default_max_tokens=max_tokens), host=host, port=port)
