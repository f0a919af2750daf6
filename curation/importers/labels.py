"""The field's own labels for what a row is for (``intent``, ``domain``), and the kind each means.

The original training effort tagged rows with an ``intent`` (what the router sends them for:
debugging, optimization, generation, explanation) and a ``domain`` that is usually an expert's
name, sometimes with a level (``din``, ``nayru``, ``din_advanced``, ``farore_basic``) and sometimes a
topic (``snes_hardware`` for Veran's register explanations, ``asm`` for anything). The intent says
more than the domain, so it wins; a domain that is only a topic (``asm``) says nothing about the kind.
"""

from __future__ import annotations

from schemas.sample import Kind

INTENT_KINDS: dict[str, Kind] = {
    "debugging": Kind.debug_dialogue,
    "debug": Kind.debug_dialogue,
    "optimization": Kind.asm_optimize,
    "optimisation": Kind.asm_optimize,
    "optimize": Kind.asm_optimize,
    "generation": Kind.asm_generate,
    "code_generation": Kind.asm_generate,
    "generate": Kind.asm_generate,
    "explanation": Kind.asm_explain,
    "explain": Kind.asm_explain,
    "quest": Kind.quest_implementation,
    "quest_design": Kind.quest_implementation,
}
# The field's expert names (Farore debugs, Din optimises, Nayru generates, Veran explains hardware),
# and the one topic domain that names a single expert's work.
DOMAIN_KINDS: dict[str, Kind] = {
    "farore": Kind.debug_dialogue,
    "din": Kind.asm_optimize,
    "nayru": Kind.asm_generate,
    "veran": Kind.asm_explain,
    "snes_hardware": Kind.asm_explain,
}


def _key(value: object) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return None
    return value.strip().lower().replace("-", "_").replace(" ", "_")


def kind_from_intent(value: object) -> Kind | None:
    """``debugging`` -> debug_dialogue; a kind's own name is accepted too."""
    key = _key(value)
    if key is None:
        return None
    return INTENT_KINDS.get(key) or (Kind(key) if key in Kind.__members__ else None)


def kind_from_domain(value: object) -> Kind | None:
    """``din`` or ``din_advanced`` -> asm_optimize; ``asm`` (a topic, not an expert) -> None."""
    key = _key(value)
    if key is None:
        return None
    return DOMAIN_KINDS.get(key) or DOMAIN_KINDS.get(key.split("_", 1)[0])


def kind_from_labels(intent: object, domain: object) -> Kind | None:
    """The kind a row's labels name: its intent if that is known, else its domain."""
    return kind_from_intent(intent) or kind_from_domain(domain)
