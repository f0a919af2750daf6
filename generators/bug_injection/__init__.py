"""``bug_injection``: correct 65816 idioms with one planted bug, written up diagnosis-first.

Every bug category the validators know (``curation/validators/terms.py``) has templates here, grouped
by family in the modules of this package. A template takes a working idiom (a DMA upload, a mode
switch, a stack frame, a long call, a block move...), plants one bug of its category and writes the
dialogue the field trains on: a user turn with the buggy code and a symptom, and an answer with
**Bug**, a diagnosis tied to that code, numbered **What's happening** steps and a **Fix** whose code
assembles. Both the buggy and the fixed code assemble with Asar (these are logic bugs, which is what
an assembler cannot catch) and the fix always differs from the bug.

Why so many choices per template: version 1 varied only a few numbers, so 189 of 200 proposals were
near-duplicates (MinHash) of each other. A real sample varies the registers, the addressing modes,
the RAM it touches, its label names, the routine it sits in, the symptom its user reports and how the
explanation is worded and ordered; so does every proposal here, from one seeded RNG (same seed, same
proposals). Routine names are drawn from a curated list and, where the field data is present, from
the routine names its code uses.
"""

from __future__ import annotations

import importlib
import pkgutil
import random
from types import ModuleType

from curation.rommap import RomMap
from generators.base import Generator, register
from generators.bug_injection.case import Case, Template
from generators.bug_injection.render import render
from generators.draw import Draw
from generators.vocabulary import routine_names
from schemas.sample import Kind, SampleRevision
from schemas.taxonomy import BUG_CATEGORIES


def _families() -> list[ModuleType]:
    """Every module of this package that defines ``TEMPLATES`` (a family), in its ``FAMILY_ORDER``: a new
    family is one new module, found here without being named (append it with the next order number -
    the order decides which template a seeded draw picks, so the generator's version goes up with it)."""
    modules = [importlib.import_module(f"{__name__}.{m.name}") for m in pkgutil.iter_modules(__path__)]
    families = [m for m in modules if hasattr(m, "TEMPLATES")]
    return sorted(families, key=lambda m: m.FAMILY_ORDER)


TEMPLATES: tuple[Template, ...] = tuple(t for family in _families() for t in family.TEMPLATES)


def _category_of(template: Template) -> str:
    """A template's category, read off one case it makes (templates are pure functions of the draw)."""
    return template(Draw(random.Random(0))).category


BY_CATEGORY: dict[str, tuple[Template, ...]] = {}
for _template in TEMPLATES:
    BY_CATEGORY.setdefault(_category_of(_template), ())
    BY_CATEGORY[_category_of(_template)] += (_template,)
CATEGORIES: tuple[str, ...] = tuple(BY_CATEGORY)
if set(CATEGORIES) - set(BUG_CATEGORIES):  # every planted bug is one the taxonomy (and the validators) know
    raise RuntimeError(f"bug categories outside schemas.taxonomy: {sorted(set(CATEGORIES) - set(BUG_CATEGORIES))}")


class BugInjection(Generator):
    name = "bug_injection"
    # 3: every template carries an executable spec its bug fails and its fix passes (asm_behaviour).
    version = "3"
    description = (
        f"{len(TEMPLATES)} templates over {len(CATEGORIES)} bug categories planted in correct 65816 idioms, "
        "written up diagnosis-first"
    )

    def generate(self, n: int, seed: int, *, rom_map: RomMap | None = None) -> list[SampleRevision]:
        rng = random.Random(f"{self.name}:{self.version}:{seed}")
        names = routine_names()

        def propose(index: int) -> SampleRevision:
            category = CATEGORIES[index % len(CATEGORIES)]  # round-robin keeps the categories balanced
            draw = Draw(rng, names)
            template = draw.pick(BY_CATEGORY[category])
            case = template(draw)
            question, answer = render(case, draw)
            return self.proposal(
                Kind.debug_dialogue,
                case.category,
                question,
                answer,
                seed=seed,
                index=index,
                template=template.__name__,
                buggy_code=case.buggy,
                fixed_code=case.fixed,
                **({"behaviour": case.spec.to_json()} if case.spec else {}),
            )

        return self.distinct(n, propose)


register(BugInjection())

__all__ = ["BY_CATEGORY", "CATEGORIES", "TEMPLATES", "BugInjection", "Case"]
