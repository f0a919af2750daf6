"""``triforge labeling up|down|status|logs``: the local Argilla stack; ``triforge review ...``: sync with it.

These commands are entry points: they alone read ``ARGILLA_API_URL``/``ARGILLA_API_KEY`` (another
server, e.g. the compose stack's) and hand them to ``labeling.argilla.client.connect``.
"""

from __future__ import annotations

import os
from typing import Annotated

import typer
import uvicorn

from curation.classify.service import classify
from labeling.argilla.order import ORDERS, check_order
from labeling.argilla.pull import pull
from labeling.argilla.push import push
from labeling.argilla.stack import LabelingStack
from labeling.argilla.stats import review_stats
from labeling.argilla.webhooks import PATH, Listener, register, standalone_app, store_puller
from triforge.cli.classify import classifier_errors, print_classify_report
from triforge.cli.common import (
    argilla_client,
    console,
    current_home,
    err_console,
    open_workspace,
    print_json,
    progress_bar,
    simple_table,
    user_errors,
)

app = typer.Typer(no_args_is_help=True, help="The local Argilla 2.8 stack experts review in.")


@app.command("up")
@user_errors
def up_command(
    port: Annotated[int, typer.Option(min=1, max=65535, help="Argilla's port on 127.0.0.1")] = 6900,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Start the stack (idempotent) and print the UI URL and the owner's login."""

    stack = LabelingStack(current_home())
    with console.status("starting the labeling stack") as spinner:
        creds = stack.up(port=port, say=lambda text: spinner.update(text))
    if as_json:
        print_json({"url": creds.api_url, "username": creds.username, "credentials_file": str(stack.credentials_file)})
        return
    console.print(
        f"Argilla is up: {creds.api_url}  (login {creds.username}; password and API key in "
        f"{stack.credentials_file}, mode 0600)"
    )


@app.command("down")
@user_errors
def down_command() -> None:
    """Stop the stack; its data stays for the next `up`."""
    stopped = LabelingStack(current_home()).down()
    console.print(f"stopped: {', '.join(stopped)}" if stopped else "nothing was running")


@app.command("status")
@user_errors
def status_command(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Which processes run, whether Argilla answers, and where."""
    status = LabelingStack(current_home()).status()
    # The address to hand reviewers: the server Triforge talks to (ARGILLA_API_URL for the compose stack).
    status["ui_url"] = os.environ.get("ARGILLA_API_URL") or status["url"]
    if as_json:
        print_json(status)
        return
    procs = ", ".join(f"{name} {'up' if up else 'down'}" for name, up in status["processes"].items())
    console.print(f"{procs}; argilla {'answers' if status['healthy'] else 'does not answer'} at {status['url']}")
    if status["ui_url"]:
        console.print(
            f"reviewers sign in at {status['ui_url']}  (`triforge reviewers add NAME` gives each one a login)"
        )
    if not status["healthy"]:
        raise typer.Exit(1)


@app.command("logs")
@user_errors
def logs_command(
    service: Annotated[str, typer.Argument(help="noida, server or worker")] = "server",
    lines: Annotated[int, typer.Option("--lines", "-n", min=1)] = 50,
) -> None:
    """The last lines of a service's log."""

    text = LabelingStack(current_home()).logs(service, lines)
    if text:
        typer.echo(text)
    else:
        err_console.print(f"no log for {service} yet")


def _order_help() -> str:
    return "Which records a reviewer sees first: " + "; ".join(f"{k} = {v}" for k, v in ORDERS.items())


review_app = typer.Typer(no_args_is_help=True, help="Send samples to Argilla and bring experts' judgements back.")


@review_app.command("push")
@user_errors
def push_command(
    where: Annotated[
        str | None, typer.Option(help="Which samples (default: validated, no duplicate, not decided)")
    ] = None,
    order: Annotated[str, typer.Option(help=_order_help())] = "useful",
    # 500: argilla-server's largest bulk (labeling.argilla.push.MAX_BATCH; not imported, to keep start-up light)
    batch_size: Annotated[int, typer.Option(min=1, max=500, help="Records per bulk request")] = 500,
    min_submitted: Annotated[int, typer.Option(min=1, max=20, help="Responses per record (new datasets)")] = 1,
    vectors: Annotated[bool, typer.Option(help="Send each sample's embedding for similarity search")] = True,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Send samples not sent before (record id = revision id: a repeat sends nothing twice), the most
    useful first; each record's rank is its ``review_priority`` metadata (sort by it in Argilla)."""

    check_order(order)
    client = argilla_client()
    with open_workspace() as ws, progress_bar(disable=as_json) as bar:
        task = bar.add_task("pushing", total=None)
        summary = push(
            ws, client, where=where, order=order, batch_size=batch_size, min_submitted=min_submitted,
            vectors=vectors, progress=lambda done, total: bar.update(task, completed=done, total=total),
        )  # fmt: skip
    if as_json:
        print_json(summary.__dict__)
        return
    per = ", ".join(f"{k} {v}" for k, v in summary.datasets.items()) or "nothing new"
    console.print(f"sent {summary.sent} ({per}); {summary.already_sent} were sent before")
    if summary.sent:
        note = f" ({summary.vectors_note})" if summary.vectors_note else ""
        console.print(f"{summary.vectors} of {summary.sent} records carry an embedding{note}")
    if summary.repair_suggestions:
        console.print(f"{summary.repair_suggestions} records suggest a proposed repair as the corrected answer")
    if summary.predicted_categories:
        console.print(f"{summary.predicted_categories} records without a category suggest the classifier's category")


def _print_pull(summary: object) -> None:
    s = summary.__dict__
    console.print(
        f"{s['responses']} responses on {s['records']} records: {s['approved']} approved, "
        f"{s['corrected']} corrected, {s['rejected']} rejected, {s['disputed']} disputed"
    )
    if s["missing"]:
        err_console.print(f"[yellow]{s['missing']} pushed records are no longer in Argilla[/]")


@review_app.command("pull")
@user_errors
def pull_command(
    rule: Annotated[str, typer.Option(help="Consensus: unanimous or majority")] = "unanimous",
    min_submitted: Annotated[int, typer.Option(min=1, max=20, help="Responses needed before deciding")] = 1,
    page_size: Annotated[int, typer.Option(min=1, max=1000, help="Records read and stored together")] = 200,
    retrain_classifier: Annotated[
        bool, typer.Option(help="Then retrain the label classifier on the new labels and re-classify every sample")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Copy responses on undecided records into the store and apply the consensus rule.

    Resumable: a pull that was interrupted carries on after the last page it stored."""

    client = argilla_client()
    report = None
    with open_workspace() as ws:
        with progress_bar(disable=as_json) as bar:
            task = bar.add_task("pulling", total=None)
            summary = pull(
                ws, client, rule=rule, min_submitted=min_submitted, page_size=page_size,
                progress=lambda done, total: bar.update(task, completed=done, total=total),
            )  # fmt: skip
        if retrain_classifier:  # reviewers' tags and corrections are labels: learn from them now
            with classifier_errors():
                report = classify(ws)
    if as_json:
        print_json({**summary.__dict__, **({"classifier": report.as_dict()} if report else {})})
        return
    for name, after in summary.resumed_from.items():
        err_console.print(f"{name}: resumed an interrupted pull after {after[:12]}")
    _print_pull(summary)
    if report is not None:
        print_classify_report(report)


@review_app.command("listen")
@user_errors
def listen_command(
    host: Annotated[str, typer.Option(help="Interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535)] = 6901,
    url: Annotated[
        str | None, typer.Option(help="The URL Argilla posts to (default: http://HOST:PORT/argilla/webhook)")
    ] = None,
    rule: Annotated[str, typer.Option(help="Consensus: unanimous or majority")] = "unanimous",
    min_submitted: Annotated[int, typer.Option(min=1, max=20, help="Responses needed before deciding")] = 1,
    catch_up: Annotated[bool, typer.Option(help="Pull every open record once before listening")] = True,
    keep_webhook: Annotated[bool, typer.Option(help="Leave the webhook registered on exit")] = False,
) -> None:
    """Pull each record as soon as Argilla completes it (webhook ``record.completed``); Ctrl-C stops.

    Deliveries are verified with the webhook's secret; `review pull` remains the fallback."""

    client = argilla_client()
    url = url or f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}{PATH}"
    webhook = register(client, url)
    listener = Listener(webhook.secret, store_puller(current_home(), client, rule, min_submitted))
    try:
        if catch_up:
            with open_workspace() as ws:
                _print_pull(pull(ws, client, rule=rule, min_submitted=min_submitted))
        listener.start()
        console.print(f"listening for {webhook.events} at {url} (Ctrl-C stops)")
        uvicorn.run(standalone_app(listener), host=host, port=port, log_level="warning")
    finally:
        listener.close()
        if not keep_webhook:
            webhook.delete()
        stats = listener.stats
        console.print(
            f"{stats.deliveries} deliveries ({stats.refused} refused), {stats.records_pulled} records pulled, "
            f"{stats.decided} decided, {stats.pending} still queued"
        )


@review_app.command("stats")
@user_errors
def stats_command(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Reviewer throughput (in all and per day, with time per record), pending records and inter-annotator
    agreement (Krippendorff's alpha), from the store."""
    with open_workspace(read_only=True) as ws:
        stats = review_stats(ws)
    if as_json:
        print_json(stats.as_dict())
        return
    columns = ("reviewer", "submitted", "approve", "reject", "corrections", "last pull")
    rows = [(r.reviewer, r.submitted, r.approve, r.reject, r.corrections, r.last_pull) for r in stats.reviewers]
    console.print(simple_table("reviewers", columns, rows))

    def per_record(seconds: float | None) -> str:
        return "n/a" if seconds is None else f"{seconds:.0f} s"

    days = [
        (d.day, d.reviewer, d.submitted, f"{d.first[11:16]}-{d.last[11:16]}", per_record(d.seconds_per_record))
        for d in stats.days
    ]
    console.print(
        simple_table("per reviewer per day (UTC)", ("day", "reviewer", "submitted", "from-to", "per record"), days)
    )
    console.print(simple_table("records sent to Argilla", ("state", "records"), list(stats.records.items())))
    agreement = stats.agreement

    def fmt(value: float | None) -> str:
        return "n/a" if value is None else f"{value:.3f}"

    rows = [("decision (all)", fmt(agreement.decision)), ("category tag", fmt(agreement.category))]
    rows += [(f"decision, {c}", fmt(a)) for c, a in agreement.decision_by_category.items()]
    title = f"Krippendorff's alpha ({agreement.samples_with_two_or_more_reviews} samples with 2+ reviews)"
    console.print(simple_table(title, ("question", "alpha"), rows))
