"""What must be true of a snapshot before a model may learn from it.

Training on a sample whose code does not assemble, or on the eval suite's own prompts, wastes the run
and - worse - produces scores nobody can trust. So ``triforge train`` checks the store first and refuses
with the reasons; ``--force`` trains anyway and records which blockers were overridden in the manifest.
"""

from __future__ import annotations

from pathlib import Path

from curation.contamination import check_contamination, latest_check
from curation.workspace import Workspace

DEFAULT_SUITE = Path(__file__).with_name("suites") / "triforce_eval_cases.json"


def training_blockers(workspace: Workspace, snapshot_id: str, *, eval_suites: list[Path] | None = None) -> list[str]:
    """Reasons not to train on this snapshot; empty when it is clean.

    Given ``eval_suites``, the snapshot is checked against them now; otherwise its latest recorded check
    counts, and a snapshot never checked is checked against the bundled keyword suite. Checks are
    recorded, so the dataset card can quote them too.
    """
    reasons: list[str] = []
    counts = workspace.training_runs.member_validation(snapshot_id)
    if counts.get("failed"):
        reasons.append(f"{counts['failed']} member(s) fail validation (see: triforge validate --report)")
    if counts.get("pending"):
        reasons.append(f"{counts['pending']} member(s) were never validated (run: triforge validate)")
    # Suites named now are always checked now; otherwise the latest recorded check stands.
    check = None if eval_suites else latest_check(workspace, snapshot_id)
    if check is None:
        report = check_contamination(workspace, snapshot_id, eval_suites or [DEFAULT_SUITE])
        check = {"leaked_evals": report.leaked_evals, "evals": report.evals, "eval_files": report.eval_files}
    if check["leaked_evals"]:
        reasons.append(
            f"{check['leaked_evals']} of {check['evals']} eval case(s) appear in its prompts "
            f"(see: triforge contamination {snapshot_id[:12]} --evals SUITE)"
        )
    return reasons
