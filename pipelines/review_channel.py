"""Where a round's proposals are reviewed, as the pipelines see it: an interface, not a server.

The refinement loop puts proposals in front of experts and reads back their decisions. Which tool the
experts use is the entry point's choice: the CLI hands the loop the Argilla adapter
(``labeling.argilla.channel``) when the stack is up, or nothing, and then decisions are read from the
store (``triforge samples mark / correct``). The pipelines layer only knows this protocol, so the import
arrows keep pointing down (``.importlinter``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from curation.workspace import Workspace


class ReviewChannel(Protocol):
    """A review tool: proposals go out, experts' responses come back into the store as statuses."""

    name: str  # how reports name it, e.g. "argilla"
    where: str  # where an expert goes to review, for the messages the loop prints

    def push(self, workspace: Workspace, ids: Sequence[str], *, min_submitted: int = 1) -> None:
        """Send these proposals (not sent before) to the experts."""
        ...

    def pull(self, workspace: Workspace, ids: Sequence[str], *, rule: str, min_submitted: int = 1) -> None:
        """Read the experts' responses on these proposals and apply ``rule`` (approve, reject, correct)."""
        ...


__all__ = ["ReviewChannel"]
