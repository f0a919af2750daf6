"""What a model repair may be asked for, and what it must keep.

A rewrite by a teacher or a bootstrapped model (``pipelines.repair``) must keep the original's code
byte for byte - it fixes the prose around it - so an original whose code fails a code-only validator
is not worth a request, and a parent that already has a repair is not asked again.
"""

from __future__ import annotations

from curation.validators import get_validator
from curation.validators.text import code_blocks
from curation.workspace import Workspace


def _blocks(text: str) -> list[tuple[str, str]]:
    return [(b.lang, b.code) for b in code_blocks(text)]


def code_difference(original: str, rewrite: str) -> str | None:
    """None when the rewrite's code blocks are the original's, byte for byte and in order; else how not."""
    before, after = _blocks(original), _blocks(rewrite)
    if before == after:
        return None
    if len(before) != len(after):
        return f"the original has {len(before)} code block(s), the reply {len(after)}"
    first = next(i for i, (a, b) in enumerate(zip(before, after, strict=True)) if a != b)
    return f"code block {first + 1} differs from the original's"


def existing_repairs(workspace: Workspace, parent_ids: list[str], prefix: str) -> dict[str, tuple[str, str]]:
    """parent id -> (repair id, source name) of a repair child already written (by any path or model)."""
    children = workspace.samples.latest_children(parent_ids, source_prefix=prefix)
    return {parent: (rid, name) for parent, (rid, name, _) in children.items()}


CODE_VALIDATORS = ("asm_assembles",)  # they judge only the code, which a repair must keep as it is


def code_failures(workspace: Workspace, parent_ids: list[str]) -> dict[str, str]:
    """parent id -> the code-only validator its original fails: no rewrite that keeps the code can pass it,
    so such a sample is not worth a request."""
    validations = workspace.validations
    out: dict[str, str] = {}
    for name in CODE_VALIDATORS:
        for rid in sorted(validations.failing(name, get_validator(name).version, parent_ids)):
            out.setdefault(rid, name)
    return out


__all__ = ["CODE_VALIDATORS", "code_difference", "code_failures", "existing_repairs"]
