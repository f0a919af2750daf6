"""Teacher tasks: one request each, drawn from (n, seed) so a batch is reproducible and resumable."""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass

from generators.base import get_generator
from generators.quest_templates import QUEST_TYPES

# The bug kinds teacher prompts ask for: bug_injection version 1's case names, frozen here because a
# teacher batch is identified by its tasks - deriving them from bug_injection's templates (version 2
# has 62) would change every batch id and stop unfinished batches from resuming.
TEACHER_BUG_CASES = (
    "mode_mismatch",
    "missing_sep",
    "stack_imbalance",
    "register_clobber",
    "dma_setup",
    "wrong_data_bank",
    "jsr_rtl_mismatch",
    "immediate_width",
    "mvn_length",
    "dma_destination",
    "mvn_operands",
)  # bug_injection v1's case names; their taxonomy categories are in schemas.taxonomy
IDIOMS = (
    "a DMA upload of tiles to VRAM",
    "an OAM sprite table upload",
    "a controller read through $4218",
    "a 16-bit counter update in WRAM",
    "a stack frame saved with PHP/PHB and restored before returning",
    "a JSL hook into a vanilla routine",
    "a block move with MVN",
    "a loop over an indexed table",
    "a mode switch between 8-bit and 16-bit accumulator",
    "a direct page relocation with TCD",
)


@dataclass(frozen=True)
class TeacherTask:
    index: int
    kind: str  # debug_dialogue | quest_implementation
    category: str
    idiom: str
    question: str | None = None  # bootstrap tasks: the user turn the model must answer

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def draw_tasks(
    n: int, seed: int, *, kinds: tuple[str, ...] = ("debug_dialogue", "quest_implementation")
) -> list[TeacherTask]:
    """Three debug dialogues for every quest (the seeds' balance), categories cycled so all appear."""
    rng = random.Random(seed)
    tasks = []
    for i in range(n):
        quest_turn = "quest_implementation" in kinds and ("debug_dialogue" not in kinds or i % 4 == 3)
        kind = "quest_implementation" if quest_turn else "debug_dialogue"
        if kind == "debug_dialogue":
            category = TEACHER_BUG_CASES[(i + seed) % len(TEACHER_BUG_CASES)]
        else:
            category = sorted(QUEST_TYPES)[rng.randrange(len(QUEST_TYPES))]
        tasks.append(TeacherTask(i, kind, category, IDIOMS[rng.randrange(len(IDIOMS))]))
    return tasks


def draw_bootstrap_tasks(n: int, seed: int) -> list[TeacherTask]:
    """Questions for a bootstrapped model to answer: bug-injection user turns (buggy code + symptom).
    The model writes the answer an expert then corrects - the seeds' Strategy 4."""
    proposals = get_generator("bug_injection").generate(n, seed)
    return [
        TeacherTask(i, p.kind.value, p.category or "other", "bug_injection question", question=p.messages[0].content)
        for i, p in enumerate(proposals)
    ]
