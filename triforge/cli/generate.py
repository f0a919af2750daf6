"""``triforge generate``: run a proposer and see at once what its proposals are worth."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from curation.store import StoreError
from generators.teacher.batch import BatchSettings
from generators.teacher.clients import FatalError, InProcess, make_client
from generators.teacher.tasks import draw_bootstrap_tasks, draw_tasks
from pipelines.generate import propose_with_model, run_generator
from schemas.sample import SourceType
from trainer.generation import load_model
from triforge.cli.common import (
    console,
    current_home,
    err_console,
    open_workspace,
    print_json,
    progress_bar,
    user_errors,
)

LLM_PROPOSERS = ("teacher", "bootstrap")


@user_errors
def generate_command(
    name: Annotated[str, typer.Argument(help="bug_injection, quest_templates, teacher or bootstrap")],
    n: Annotated[int, typer.Option("--n", min=1, max=100_000, help="How many proposals")] = 100,
    seed: Annotated[int, typer.Option(help="Same seed, same proposals (same tasks for teacher/bootstrap)")] = 0,
    provider: Annotated[str, typer.Option(help="teacher: openai (any compatible endpoint) or gemini")] = "openai",
    model: Annotated[str | None, typer.Option(help="teacher: model id at the endpoint")] = None,
    base_url: Annotated[
        str | None, typer.Option(help="Endpoint, e.g. http://127.0.0.1:8008/v1 from triforge serve-model")
    ] = None,
    api_key_env: Annotated[str | None, typer.Option(help="Env var holding the endpoint's key")] = None,
    adapter: Annotated[
        Path | None, typer.Option(help="bootstrap: adapter dir (or model) loaded in process instead of --base-url")
    ] = None,
    kinds: Annotated[str, typer.Option(help="teacher: debug_dialogue,quest_implementation")] = (
        "debug_dialogue,quest_implementation"
    ),
    concurrency: Annotated[int, typer.Option(min=1, max=64, help="Requests in flight")] = 4,
    max_retries: Annotated[int, typer.Option(min=0, max=20, help="Retries per request (429/5xx/timeouts)")] = 4,
    max_tokens: Annotated[int, typer.Option(min=16, max=16_384)] = 1024,
    temperature: Annotated[float, typer.Option(min=0.0, max=2.0)] = 0.7,
    price_in: Annotated[float, typer.Option(help="USD per million prompt tokens (cost ledger)")] = 0.0,
    price_out: Annotated[float, typer.Option(help="USD per million completion tokens")] = 0.0,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Generate proposals, store them with provenance, validate and dedup-check them.

    teacher and bootstrap batches are resumable: run the same command again after a crash and only
    the requests that never got a reply are sent."""
    with open_workspace() as workspace, progress_bar(disable=as_json) as progress:
        tasks: dict[str, int] = {}

        def report(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = progress.add_task(stage, total=total)
            progress.update(tasks[stage], completed=done, total=total)

        if name in LLM_PROPOSERS:
            summary = _run_llm_proposer(
                workspace, name, n=n, seed=seed, provider=provider, model=model, base_url=base_url,
                api_key_env=api_key_env, adapter=adapter, kinds=kinds, concurrency=concurrency,
                max_retries=max_retries, max_tokens=max_tokens, temperature=temperature, price_in=price_in,
                price_out=price_out, report=report,
            )  # fmt: skip
        else:
            try:
                summary = run_generator(workspace, name, n, seed, progress=report)
            except KeyError as exc:
                err_console.print(f"[bold red]error:[/] {exc.args[0]}")
                raise typer.Exit(2) from None
    if as_json:
        print_json(summary.as_dict())
        return
    if name in LLM_PROPOSERS:
        console.print(
            f"{summary.source_name} batch {summary.batch_id}: {summary.tasks} tasks, {summary.stored} stored "
            f"({summary.skipped_already_done} settled by an earlier run), {summary.failed} failed; "
            f"[green]{summary.valid} valid[/], [red]{summary.rejected_by_validators} rejected by validators[/], "
            f"{summary.duplicates} duplicates; {summary.api_calls} API calls this run, "
            f"{summary.prompt_tokens}+{summary.completion_tokens} tokens, ${summary.cost_usd:.4f} for the batch"
        )
        for failure in summary.failures[:5]:
            err_console.print(f"  task {failure['task_index']}: {failure['error']}", highlight=False)
        return
    console.print(
        f"{summary.generator} seed {summary.seed}: made {summary.made} ({summary.new} new), "
        f"[green]{summary.valid} valid[/], [red]{summary.rejected_by_validators} rejected by validators[/], "
        f"{summary.duplicates} near or exact duplicates ({summary.exact_duplicates} exact)"
    )


def _run_llm_proposer(workspace, name: str, *, n, seed, provider, model, base_url, api_key_env, adapter, kinds,
                      concurrency, max_retries, max_tokens, temperature, price_in, price_out, report):  # fmt: skip

    bootstrap = name == "bootstrap"
    if bootstrap and adapter is not None:
        client = InProcess(load_model(adapter, home=current_home()))
        concurrency = 1  # one model in this process: requests queue on it anyway
    else:
        if not model:
            raise StoreError(
                f"{name} needs --model (the model id at --base-url)" + (" or --adapter" if bootstrap else "")
            )
        try:
            # Bootstrap answers are free text: JSON mode would force them into JSON (and OpenAI refuses it
            # when no message mentions JSON).
            client = make_client(provider, model, base_url=base_url, api_key_env=api_key_env, json_mode=not bootstrap)
        except FatalError as exc:
            raise StoreError(str(exc)) from exc
    chosen = tuple(k.strip() for k in kinds.split(",") if k.strip())
    unknown = set(chosen) - {"debug_dialogue", "quest_implementation"}
    if unknown or not chosen:
        raise StoreError(f"--kinds takes debug_dialogue and/or quest_implementation, not {', '.join(unknown)}")
    work = draw_bootstrap_tasks(n, seed) if bootstrap else draw_tasks(n, seed, kinds=chosen)
    settings = BatchSettings(
        seed=seed,
        concurrency=concurrency,
        max_retries=max_retries,
        max_tokens=max_tokens,
        temperature=temperature,
        price_in_per_mtok=price_in,
        price_out_per_mtok=price_out,
        source_type=SourceType.bootstrap if bootstrap else SourceType.teacher,
        structured=not bootstrap,
    )
    try:
        return propose_with_model(workspace, client, work, settings, progress=report)
    except FatalError as exc:
        raise StoreError(f"{exc} (replies so far are kept; fix it and run the same command to resume)") from exc
