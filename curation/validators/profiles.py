"""Which validators run for each kind of sample, and which of them must pass.

A sample's validation passes when every *required* validator of its kind's profile passed; advisory
validators still run and their issues are shown, but do not fail the sample. Each validator declares the
kinds it judges (``required_for``, ``advisory_for``) and its place in a list (``rank``) in its own module;
the profiles are collected from those declarations, so a new validator is one new file.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from curation.validators import REGISTRY, load_builtin
from schemas.sample import Kind


@dataclass(frozen=True)
class Profile:
    name: str
    required: tuple[str, ...]
    advisory: tuple[str, ...] = ()

    @property
    def validators(self) -> tuple[str, ...]:
        return self.required + self.advisory


@functools.cache
def profiles() -> dict[Kind, Profile]:
    """Every kind's profile, collected once from what the registered validators declare."""
    load_builtin()
    ordered = sorted(REGISTRY.values(), key=lambda v: (v.rank, v.name))
    return {
        kind: Profile(
            kind.value,
            tuple(v.name for v in ordered if kind in v.required_for),
            tuple(v.name for v in ordered if kind in v.advisory_for and kind not in v.required_for),
        )
        for kind in Kind
    }


def profile_for(kind: Kind | str) -> Profile:
    return profiles()[Kind(kind)]
