"""``triforge propose ...``: changes Triforge suggests for an expert to accept or reject.

``propose repairs`` restructures failing debugging answers (the field's older ``**Bug:** ... **Fix:**``
form) into the diagnosis-first shape and keeps the rewrites that pass; with a model (``--base-url`` and
``--model``, or ``--adapter``/``--base-model`` in process) what restructuring could not repair is
rewritten by that model under the same checks; see ``curation/repairs``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from curation.repairs import propose_repairs
from curation.store import StoreError
from generators.teacher.batch import BatchSettings
from generators.teacher.clients import FatalError, InProcess, make_client
from pipelines.repair import ModelRepairer
from schemas.sample import SourceType
from trainer.generation import load_model
from triforge.cli.common import (
    console,
    current_home,
    open_workspace,
    print_json,
    progress_bar,
    simple_table,
    user_errors,
)

app = typer.Typer(help="Propose revisions for review (repairs of answers that fail validation).", no_args_is_help=True)

REASONS = {
    "no_diagnosis": "states no cause beyond its Bug header",
    "thin_diagnosis": "diagnosis too short for a 12-word paragraph",
    "too_few_steps": "too few statements left for 2 What's happening steps",
    "no_fix_section": "no **Fix:** section",
    "fix_without_code": "**Fix:** has no code block",
    "no_bug_header": "no **Bug:** header",
    "no_bug_type": "**Bug:** names no type",
    "has_whats_happening": "already has What's happening (fails otherwise)",
    "code_changed": "rewrite would change code (guard)",
    "model_changed_code": "the model's rewrite changed, dropped or added a code block",
    "model_empty_reply": "the model's reply is empty",
    "model_no_change": "the model returned the original answer",
    "model_request_rejected": "the endpoint refused the request (not asked again)",
    "model_unreachable": "no reply after every retry (asked again next run)",
}


VARIANTS = {
    "legacy": "legacy **Bug:** ... **Fix:** answers",
    "none": "answers without a recognised Fix or What's happening",
    "full": "diagnosis-first answers failing elsewhere",
}


def _explain(reason: str) -> str:
    if reason.startswith("still_fails:"):
        return f"rewritten, still fails {reason.removeprefix('still_fails:')}"
    if reason.startswith("model_still_fails:"):
        return f"the model's rewrite still fails {reason.removeprefix('model_still_fails:')}"
    if reason.startswith("code_fails:"):
        return f"its code fails {reason.removeprefix('code_fails:')}: a repair keeps the code, so not asked"
    return REASONS.get(reason, reason)


def _model_repairer(*, provider, model, base_url, api_key_env, adapter, base_model, concurrency, max_retries,
                    max_tokens, temperature, seed):  # fmt: skip
    """The model path's client: an endpoint (teacher provenance) or a model loaded here (bootstrap)."""

    local = adapter if adapter is not None else base_model
    if adapter is not None and base_model is not None:
        raise StoreError("give --adapter or --base-model, not both")
    if local is None and model is None:
        if base_url or api_key_env:
            raise StoreError("--base-url needs --model (the model id at the endpoint)")
        return None
    if local is not None and (model or base_url):
        raise StoreError("give an endpoint (--base-url, --model) or a local model (--adapter/--base-model), not both")

    if local is not None:
        client = InProcess(load_model(local, home=current_home()))
        source_type, concurrency = SourceType.bootstrap, 1  # one model in this process: requests queue on it
    else:
        try:  # free text, not JSON: the reply is the rewritten answer itself
            client = make_client(provider, model, base_url=base_url, api_key_env=api_key_env, json_mode=False)
        except FatalError as exc:
            raise StoreError(str(exc)) from exc
        source_type = SourceType.teacher
    settings = BatchSettings(
        seed=seed,
        concurrency=concurrency,
        max_retries=max_retries,
        max_tokens=max_tokens,
        temperature=temperature,
        source_type=source_type,
        structured=False,
    )
    return ModelRepairer(client, settings)


@app.command("repairs")
@user_errors
def repairs_command(
    where: Annotated[
        str | None,
        typer.Option("--where", "-w", help='Narrow the candidates, e.g. "source_name = farore-v1"'),
    ] = None,
    base_url: Annotated[
        str | None,
        typer.Option(help="Model path: an OpenAI-compatible endpoint, e.g. http://127.0.0.1:8008/v1 (serve-model)"),
    ] = None,
    model: Annotated[str | None, typer.Option(help="Model path: the model id at --base-url")] = None,
    provider: Annotated[str, typer.Option(help="Model path: openai (any compatible endpoint) or gemini")] = "openai",
    api_key_env: Annotated[str | None, typer.Option(help="Env var holding the endpoint's key")] = None,
    adapter: Annotated[
        Path | None, typer.Option(help="Model path in process: an adapter dir from triforge train")
    ] = None,
    base_model: Annotated[
        str | None, typer.Option(help="Model path in process: a base model dir or name (smollm2)")
    ] = None,
    concurrency: Annotated[int, typer.Option(min=1, max=64, help="Model path: requests in flight")] = 4,
    max_retries: Annotated[int, typer.Option(min=0, max=20, help="Retries per request (429/5xx/timeouts)")] = 4,
    max_tokens: Annotated[int, typer.Option(min=16, max=16_384)] = 1536,
    temperature: Annotated[float, typer.Option(min=0.0, max=2.0)] = 0.2,
    seed: Annotated[int, typer.Option(help="Model path: another seed asks again for replies already kept")] = 0,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Restructure failing debugging answers diagnosis-first; store the rewrites that pass as proposed
    child revisions (re-running adds nothing). With a model, what restructuring cannot repair is
    rewritten by the model, kept only if every code block is unchanged and the validators pass."""

    repairer = _model_repairer(
        provider=provider, model=model, base_url=base_url, api_key_env=api_key_env, adapter=adapter,
        base_model=base_model, concurrency=concurrency, max_retries=max_retries, max_tokens=max_tokens,
        temperature=temperature, seed=seed,
    )  # fmt: skip
    with open_workspace() as workspace, progress_bar(disable=as_json or repairer is None) as progress:
        bars: dict[str, int] = {}

        def report_progress(stage: str, done: int, total: int) -> None:
            if stage not in bars:
                bars[stage] = progress.add_task(stage, total=total)
            progress.update(bars[stage], completed=done, total=total)

        report = _run(workspace, where, repairer, report_progress)
    if as_json:
        print_json(report.as_dict())
        return
    console.print(
        f"{report.candidates} candidates (undecided, failing validation); {report.rewritten} rewritten, "
        f"{report.passed} pass every required validator: {report.new} proposed now, "
        f"{report.passed - report.new} proposed before",
        highlight=False,
    )
    for variant, counts in sorted(report.by_variant().items()):
        label = VARIANTS.get(variant, variant)
        console.print(f"  {label}: {counts['passed']} of {counts['candidates']} repaired", highlight=False)
    paths = report.by_path()
    rows = []
    for name, counts in paths.items():
        label = name if name == "deterministic" else f"model {counts['source_type']}:{counts['model']}"
        rows.append((label, counts["tried"], counts["passed"], counts["new"], sum(counts["failures"].values())))
    console.print(simple_table("by path", ("path", "tried", "repaired", "new", "not repaired"), rows))
    if "model" in paths:
        m = paths["model"]
        console.print(
            f"  model: {m['asked']} asked this run ({m['api_calls']} API calls, {m['prompt_tokens']}+"
            f"{m['completion_tokens']} tokens), {m['replies_reused']} replies reused from the ledger, "
            f"{m['already_repaired']} already repaired, {m['not_asked']} not asked (code that fails)",
            highlight=False,
        )
    failures = report.failures
    if failures:
        rows = [
            (reason, "model" if reason.startswith("model_") or reason.startswith("code_fails:") else "deterministic",
             count, _explain(reason))
            for reason, count in failures.most_common()
        ]  # fmt: skip
        console.print(simple_table("not repaired", ("reason", "path", "samples", "meaning"), rows))


def _run(workspace, where, repairer, progress):  # type: ignore[no-untyped-def]
    if repairer is None:
        return propose_repairs(workspace, where)

    try:
        return propose_repairs(workspace, where, model=repairer, progress=progress)
    except FatalError as exc:
        raise StoreError(f"{exc} (replies so far are kept; fix it and run the same command to resume)") from exc
