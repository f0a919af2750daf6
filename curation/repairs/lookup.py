"""Find the proposed repair of each of some samples: what the Argilla push suggests as the correction."""

from __future__ import annotations

import json

from curation.workspace import Workspace

# Kept here rather than imported from service.py, so a push does not load the repair machinery.
# A restructuring is ``template:repair@N``; a model's rewrite ``teacher|bootstrap:repair@N/PROVIDER:MODEL``.
REPAIR_SOURCE_TYPES = ("template", "teacher", "bootstrap")
REPAIR_SOURCE_PREFIX = "repair@"


def latest_repairs(workspace: Workspace, parent_ids: list[str]) -> dict[str, tuple[str, str, str]]:
    """parent id -> (repair id, repair source name, repaired final answer), the newest repair per parent.

    A repair is a child revision written by the repairer (source ``template:repair@N``, or a model's
    ``teacher:repair@N/openai:MODEL``); an expert's
    correction of the same content is the same revision, so it is found too."""
    children = workspace.samples.latest_children(
        parent_ids, source_prefix=REPAIR_SOURCE_PREFIX, source_types=REPAIR_SOURCE_TYPES
    )
    return {
        parent: (rid, name, json.loads(messages)[-1]["content"]) for parent, (rid, name, messages) in children.items()
    }
