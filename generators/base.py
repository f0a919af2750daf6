"""The generator interface: a name, a version, and ``generate(n, seed)`` returning revisions.

The same (n, seed) must give the same proposals, so a run can be reproduced and re-running it is a
no-op (content addressing). Provenance records the generator, its version and the seed.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar

from schemas.sample import SampleRevision

REGISTRY: dict[str, Generator] = {}


class Generator(ABC):
    name: ClassVar[str]
    version: ClassVar[str]
    description: ClassVar[str] = ""

    @abstractmethod
    def generate(self, n: int, seed: int) -> list[SampleRevision]: ...


def register(generator: Generator) -> Generator:
    REGISTRY[generator.name] = generator
    return generator


def get_generator(name: str) -> Generator:
    from generators import bug_injection, quest_templates  # noqa: F401 - they register themselves

    if name not in REGISTRY:
        raise KeyError(f"unknown generator {name!r}; known: {', '.join(sorted(REGISTRY))}")
    return REGISTRY[name]
