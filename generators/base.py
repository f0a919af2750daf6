"""The generator interface: a name, a version, and ``generate(n, seed)`` returning revisions.

The same (n, seed) must give the same proposals, so a run can be reproduced and re-running it is a
no-op (content addressing). Provenance records the generator, its version and the seed.
"""

from __future__ import annotations

import importlib
import pkgutil
from abc import ABC, abstractmethod
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from schemas.sample import Kind, Message, Provenance, Role, SampleRevision, SourceType

if TYPE_CHECKING:
    from curation.rommap import RomMap

REGISTRY: dict[str, Generator] = {}


class Generator(ABC):
    name: ClassVar[str]
    version: ClassVar[str]
    description: ClassVar[str] = ""

    @abstractmethod
    def generate(self, n: int, seed: int, *, rom_map: RomMap | None = None) -> list[SampleRevision]:
        """``n`` proposals for ``seed``; ``rom_map`` is the workspace's map for proposers that build on
        the game (quest hooks, free save bytes), None where there is none."""

    def proposal(
        self, kind: Kind, category: str, question: str, answer: str, *, seed: int, index: int, **metadata: object
    ) -> SampleRevision:
        """A user/assistant revision with this generator's provenance (name@version, seed, index)."""
        return SampleRevision(
            kind=kind,
            category=category,
            messages=(Message(role=Role.user, content=question), Message(role=Role.assistant, content=answer)),
            metadata={
                "generator": self.name,
                "generator_version": self.version,
                "seed": seed,
                "index": index,
                **metadata,
            },
            provenance=Provenance(
                source_type=SourceType.template,
                source_name=f"{self.name}@{self.version}",
                original={"seed": seed, "index": index},
            ),
        )

    @staticmethod
    def distinct(n: int, propose: Callable[[int], SampleRevision]) -> list[SampleRevision]:
        """Call ``propose(index)`` until ``n`` distinct revisions exist (or 20n tries: a template set
        too small for ``n`` returns fewer rather than looping forever)."""
        out: list[SampleRevision] = []
        seen: set[str] = set()
        for _ in range(n * 20):
            if len(out) >= n:
                break
            revision = propose(len(out))
            if revision.id not in seen:
                seen.add(revision.id)
                out.append(revision)
        return out


def register(generator: Generator) -> Generator:
    REGISTRY[generator.name] = generator
    return generator


# Modules of this package that are not proposers: everything else is imported once so it registers itself.
_NOT_PROPOSERS = frozenset({"base", "draw", "vocabulary", "teacher"})


def load_builtin() -> None:
    """Import every proposer package under ``generators/`` (each ends in ``register(...)``): a new proposer
    is one new package, found here without this module naming it (the teacher has its own entry point)."""
    for module in pkgutil.iter_modules([str(Path(__file__).parent)]):
        if module.name not in _NOT_PROPOSERS:
            importlib.import_module(f"{__package__}.{module.name}")


def get_generator(name: str) -> Generator:
    load_builtin()
    if name not in REGISTRY:
        raise KeyError(f"unknown generator {name!r}; known: {', '.join(sorted(REGISTRY))}")
    return REGISTRY[name]
