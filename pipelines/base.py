"""What a pipeline step is: a named unit of work on a Workspace with one ``run``.

Steps take their settings in ``__init__`` and their input in ``run``, so a flow is a readable list of
steps and each step can be tested (and resumed) on its own.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, ClassVar

from curation.workspace import Workspace

# progress(stage, done, total): the CLI turns it into a Rich bar, tests ignore it.
Progress = Callable[[str, int, int], None]


class PipelineStep(ABC):
    name: ClassVar[str]

    def __init__(self, workspace: Workspace) -> None:
        self.workspace = workspace

    @abstractmethod
    def run(self, *args: Any, **kwargs: Any) -> Any:
        """Do the step's work; the return value is the next step's input."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name} on {self.workspace.home}>"


@contextmanager
def briefly(workspace: Workspace, *, read_only: bool = False) -> Iterator[Workspace]:
    """The workspace with its store open for one step's reads or writes, closed right after.

    ``read_only`` opens a read-only sibling, which may share the file with other readers."""
    target = Workspace(workspace.home, read_only=True) if read_only else workspace
    try:
        yield target
    finally:
        target.close()


__all__ = ["PipelineStep", "Progress", "briefly"]
