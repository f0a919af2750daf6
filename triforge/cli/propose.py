"""``triforge propose ...``: changes Triforge suggests for an expert to accept or reject.

``propose repairs`` restructures failing debugging answers (the field's older ``**Bug:** ... **Fix:**``
form) into the diagnosis-first shape and keeps the rewrites that pass; see ``curation/repairs``.
"""

from __future__ import annotations

from typing import Annotated

import typer

from triforge.cli.common import console, open_store, print_json, simple_table, user_errors

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
}


VARIANTS = {
    "legacy": "legacy **Bug:** ... **Fix:** answers",
    "none": "answers without a recognised Fix or What's happening",
    "full": "diagnosis-first answers failing elsewhere",
}


def _explain(reason: str) -> str:
    if reason.startswith("still_fails:"):
        return f"rewritten, still fails {reason.removeprefix('still_fails:')}"
    return REASONS.get(reason, reason)


@app.command("repairs")
@user_errors
def repairs_command(
    where: Annotated[
        str | None,
        typer.Option("--where", "-w", help='Narrow the candidates, e.g. "source_name = farore-v1"'),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Restructure failing debugging answers diagnosis-first; store the rewrites that pass as proposed
    child revisions (re-running adds nothing)."""
    from curation.repairs import propose_repairs

    with open_store() as store:
        report = propose_repairs(store, where)
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
    failures = report.failures
    if failures:
        rows = [(reason, count, _explain(reason)) for reason, count in failures.most_common()]
        console.print(simple_table("not repaired", ("reason", "samples", "meaning"), rows))
