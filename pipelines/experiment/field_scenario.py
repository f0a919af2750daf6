"""The field's comparison on a user's own store: curated diagnosis-first dialogues against a diluted pool.

The field's finding: Farore trained on 1,562 rows a domain filter collected from logs scored 19% on its
benchmark - it learnt to write code snippets instead of diagnosing, because the logs were diluted with
non-debugging content in other formats - and on 70 curated diagnosis-first dialogues 84%. Here the same
situation is three filters over one store, after the pool has grown the way a team's does:

* **gold** - diagnosis-first debugging dialogues that pass every required validator, not duplicates,
  held out by the fixed ``split`` (``split < 25``: the sha256 of the prompt, so every answer to a
  held-out prompt - the legacy original of a repair, a near-copy - is held out with it);
* **curated** - the same selection on the other side of the split;
* **diluted** - everything on that side: every kind (optimisations, hardware explanations, quests),
  the legacy ``**Bug:** ... **Fix:**`` answers the repairs rewrite, duplicates and near-copies, and
  samples that fail validation. That is what a permissive domain filter collects.

``grow_pool`` adds what a pool grows by - template proposals, repairs of legacy answers and, for the
bench, near-copies (a teacher asked one prompt many times) - then validates and deduplicates, so the
filters select what they say. ``triforge demo`` and ``bench/bench_curation_value.py`` both run it.
"""

from __future__ import annotations

import json
import random
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

from curation.dedup.run import DedupConfig, run_dedup
from curation.importers import import_files
from curation.repairs import propose_repairs
from curation.validators.runner import validate_samples
from curation.workspace import Workspace
from pipelines.generate import run_generator

HELD_OUT = 25  # split < HELD_OUT is gold; every arm trains on split >= HELD_OUT
DEBUG_READY = "kind = debug_dialogue and validation = passed and duplicate_of is null and status != superseded"
GOLD = f"{DEBUG_READY} and split < {HELD_OUT}"
CURATED = f"{DEBUG_READY} and split >= {HELD_OUT}"
DILUTED = f"split >= {HELD_OUT}"
ARMS = (("curated", CURATED), ("diluted", DILUTED))
NEAR_COPY_SOURCE = "scraped-copies"


@dataclass(frozen=True)
class FieldPool:
    """What the pool grew by, and what each filter selects afterwards."""

    proposals: int
    repairs: int
    near_copies: int
    duplicates_marked: int
    gold: int
    curated: int
    diluted: int

    @property
    def dilution(self) -> float:
        """How many times the curated arm's size the diluted arm is (1,562 / 70 = 22 in the field)."""
        return self.diluted / self.curated if self.curated else 0.0

    def as_dict(self) -> dict[str, int | float]:
        return asdict(self) | {"dilution": round(self.dilution, 1)}


def grow_pool(workspace: Workspace, *, proposals: int, seed: int = 0, near_copies: int = 0) -> FieldPool:
    """Propose ``proposals`` bug-injection dialogues, repair the legacy answers that can be repaired, add
    ``near_copies`` near-copies of debugging dialogues, then validate and deduplicate everything."""
    made = run_generator(workspace, "bug_injection", proposals, seed=seed) if proposals else None
    repaired = propose_repairs(workspace)
    if near_copies:
        with tempfile.TemporaryDirectory(prefix="triforge-copies-") as tmp:
            path = write_near_copies(workspace, Path(tmp), near_copies, seed)
            import_files(workspace, [path], source_name=NEAR_COPY_SOURCE)
    validate_samples(workspace)
    dedup = run_dedup(workspace, config=DedupConfig(methods=("exact", "minhash")))
    count = workspace.samples.count
    return FieldPool(
        proposals=made.made if made else 0,
        repairs=repaired.new,
        near_copies=near_copies,
        duplicates_marked=dedup.duplicates,
        gold=count(GOLD),
        curated=count(CURATED),
        diluted=count(DILUTED),
    )


def write_near_copies(workspace: Workspace, out: Path, n: int, seed: int) -> Path:
    """``n`` copies of debugging dialogues with 1-3 filler words put into the answer, as a teacher asked the
    same prompt many times writes (the field's 1,000 teacher answers have 15 prompts): chat rows in a file."""
    rng = random.Random(seed)
    ids = sorted(row["id"] for row in workspace.samples.list("kind = debug_dialogue", limit=1_000_000))
    fillers = ["really", "also", "then", "here", "now", "just", "clearly", "again"]
    lines = []
    for i in range(n):
        revision = workspace.samples.get(rng.choice(ids)).revision
        turns = [m.model_dump(mode="json") for m in revision.messages]
        answer = turns[-1]["content"].split(" ")
        for _ in range(rng.randint(1, 3)):
            answer.insert(rng.randrange(len(answer)), rng.choice(fillers))
        turns = [*turns[:-1], {"role": "assistant", "content": " ".join(answer)}]
        row = {"messages": turns, "kind": revision.kind.value, "category": revision.category, "copy": i}
        lines.append(json.dumps(row))
    path = out / "near_copies.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


__all__ = ["ARMS", "CURATED", "DILUTED", "GOLD", "HELD_OUT", "FieldPool", "grow_pool", "write_near_copies"]
