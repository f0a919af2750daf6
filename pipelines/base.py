"""What a pipeline step is: a named unit of work on a Workspace with one ``run``.

Steps take their settings in ``__init__`` and their input in ``run``, so a flow is a readable list of
steps and each step can be tested (and resumed) on its own.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
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


__all__ = ["PipelineStep", "Progress"]
