"""The Argilla review channel: what the refinement loop's review steps call (``pipelines.review_channel``).

It wraps the push and pull the ``triforge review`` commands use, over one client; ``open_channel`` picks
the workspace's local stack (or another server the entry point names) and says when there is none.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from curation.workspace import Workspace
from labeling.argilla.client import ArgillaTarget, connect
from labeling.argilla.pull import pull
from labeling.argilla.push import push
from labeling.argilla.stack import LabelingStack


@dataclass
class ArgillaChannel:
    """Reviews through an Argilla server: proposals pushed as records, responses pulled as decisions."""

    client: Any
    name: str = "argilla"
    where: str = "in Argilla (triforge labeling status)"

    def push(self, workspace: Workspace, ids: Sequence[str], *, min_submitted: int = 1) -> None:
        if ids:
            where = f"id in ({', '.join(json.dumps(i) for i in ids)})"
            push(workspace, self.client, where=where, min_submitted=min_submitted)

    def pull(self, workspace: Workspace, ids: Sequence[str], *, rule: str, min_submitted: int = 1) -> None:
        pull(workspace, self.client, rule=rule, min_submitted=min_submitted, ids=list(ids))


def open_channel(workspace: Workspace, mode: str, target: ArgillaTarget | None = None) -> ArgillaChannel | None:
    """``argilla``: the channel (an error when no server answers); ``auto``: the channel when the local
    stack is up, else None (decisions are read from the store); ``store``: None."""
    if mode == "store":
        return None
    stack = LabelingStack(workspace.home)
    if mode == "auto" and not (stack.credentials_file.exists() and stack.healthy()):
        return None
    return ArgillaChannel(connect(stack, target=target))


__all__ = ["ArgillaChannel", "open_channel"]
