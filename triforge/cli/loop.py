"""``triforge loop``: the refinement round - propose, review, snapshot, train, eval - resumable."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer

from labeling.argilla.channel import open_channel
from labeling.argilla.client import ArgillaTarget
from pipelines.loop import LoopSettings, loop_status, run_round
from trainer.sft import load_config
from triforge.cli.common import (
    console,
    err_console,
    open_workspace,
    print_json,
    simple_table,
    user_errors,
)


@user_errors
def loop_command(
    rounds: Annotated[int, typer.Option(min=1, max=100, help="Rounds to run (each waits for its reviews)")] = 1,
    n: Annotated[int, typer.Option("--n", min=1, max=10_000, help="Proposals per round")] = 20,
    base_model: Annotated[str, typer.Option(help="Base model the adapters are trained on")] = "smollm2",
    config: Annotated[Path | None, typer.Option(help="TOML or JSON overriding the LoRA/SFT defaults")] = None,
    max_steps: Annotated[int | None, typer.Option(help="Optimizer steps per round (overrides epochs)")] = None,
    eval_suite: Annotated[Path | None, typer.Option(help="Keyword suite (default: bundled)")] = None,
    eval_limit: Annotated[int | None, typer.Option(help="At most N cases per suite in the round's evals")] = None,
    max_new_tokens: Annotated[int, typer.Option(min=1, max=4096, help="Eval tokens per case")] = 256,
    proposal_tokens: Annotated[int, typer.Option(min=8, max=4096, help="Tokens per proposed answer")] = 512,
    wait: Annotated[bool, typer.Option("--wait/--no-wait", help="Wait for reviews, or stop and resume later")] = True,
    poll: Annotated[float, typer.Option(min=0.1, help="Seconds between review checks while waiting")] = 30.0,
    timeout: Annotated[float | None, typer.Option(help="Stop waiting for reviews after this many seconds")] = None,
    review: Annotated[str, typer.Option(help="argilla, store, or auto (Argilla when `labeling up` runs)")] = "auto",
    consensus: Annotated[str, typer.Option(help="Argilla consensus: unanimous or majority")] = "unanimous",
    min_submitted: Annotated[int, typer.Option(min=1, max=20, help="Argilla responses per proposal")] = 1,
    status: Annotated[bool, typer.Option("--status", help="Only show every round's step states")] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """One Strategy-4 round per --rounds: propose with the current adapter, review, snapshot, train, eval.

    Every step records its state: after a crash, or after --no-wait, run it again and it resumes at
    the step that has not finished."""

    if status:
        with open_workspace(read_only=True) as workspace:
            steps = loop_status(workspace)
        if as_json:
            print_json([asdict(x) for x in steps])
            return
        rows = [(x.round, x.step, x.status, x.updated_at, x.error) for x in steps]
        table = simple_table("loop steps", ("round", "step", "status", "updated", "error"), rows)
        console.print(table)
        return
    settings_config = load_config(config)
    if max_steps is not None:
        settings_config = settings_config.model_copy(update={"max_steps": max_steps})
    settings = LoopSettings(
        n=n,
        base_model=base_model,
        config=settings_config,
        eval_suite=eval_suite,
        eval_limit=eval_limit,
        max_new_tokens=max_new_tokens,
        proposal_tokens=proposal_tokens,
        wait=wait,
        poll_seconds=poll,
        timeout_seconds=timeout,
        consensus=consensus,
        min_submitted=min_submitted,
    )
    if review not in ("argilla", "store", "auto"):
        raise typer.BadParameter("argilla, store or auto", param_hint="--review")
    say = (lambda text: None) if as_json else (lambda text: err_console.print(text, highlight=False))
    outcomes = []
    with open_workspace() as workspace:
        if review != "store":
            # Another server when the environment names one, else the workspace's local stack.
            settings.channel = open_channel(workspace, review, ArgillaTarget.from_environ())
        for _ in range(rounds):
            outcome = run_round(workspace, settings, say=say)
            outcomes.append(outcome)
            if not outcome.finished:
                break
    if as_json:
        print_json([asdict(o) for o in outcomes])
        return
    for o in outcomes:
        if not o.finished:
            console.print(
                f"round {o.round}: waiting for {o.waiting_for} review(s); decide them "
                "(triforge samples mark / correct) and run triforge loop again"
            )
            continue
        r = o.report
        assert r is not None
        e = r.eval
        console.print(
            f"[bold]round {o.round}[/]: {r.proposed} proposed, {r.approved_this_round} approved "
            f"(+{r.approved_after_correction} after correction); snapshot {r.snapshot.name} "
            f"({r.snapshot.members} samples); adapter {r.adapter.adapter_dir}\n"
            f"  eval {e.baseline} -> {e.adapter}: whole-word {e.word['a']:.3f} -> {e.word['b']:.3f} "
            f"({e.word['delta']:+.3f}), substring {e.substring['a']:.3f} -> {e.substring['b']:.3f} "
            f"({e.substring['delta']:+.3f})"
        )
