"""``Case``: one planted bug, everything a dialogue about it needs, before any wording of the frame."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from curation.asm.behaviour import BehaviourSpec
from generators.draw import Draw


@dataclass(frozen=True)
class Case:
    """A bug of ``category`` planted in ``buggy``; ``fixed`` assembles and differs from it.

    The texts are already drawn (a template picks among phrasings); ``render`` only arranges them.
    ``observe`` is what a debugger shows, placed first or last among the steps (or left out);
    ``culprit`` is the line at fault, which the answer may quote.
    """

    category: str
    title: str
    symptom: str
    buggy: str
    fixed: str
    diagnosis: str
    steps: tuple[str, ...]
    why: str
    observe: str = ""
    culprit: str = ""
    caller: str = ""  # a routine the user may name as where the code runs
    # What "fixed" means, runnable: the buggy code must fail it and the fix pass it (asm_behaviour).
    spec: BehaviourSpec | None = None


Template = Callable[[Draw], Case]
