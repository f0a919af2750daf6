"""Scoring a model's answers with the curation validators, beside the two keyword rules.

A keyword count says whether an answer names the right things; it cannot tell a diagnosis from a
list of mnemonics. The validators that decide what Triforge lets a model learn from judge its output
too, so "curated data trains a better model" is measured in the terms curation enforces:

| metric | what it is | cases it applies to |
|---|---|---|
| ``keyword_substring`` | the original rule's score (substring, anti-keywords halve) | cases with keywords |
| ``keyword_word`` | the whole-word rule's score | cases with keywords |
| ``keyword_pass`` | 1 when the whole-word rule passes (score >= 0.6, no anti-keyword) | cases with keywords |
| ``diagnosis_first`` | 1 when ``diagnosis_first`` passes (Bug, diagnosis, What's happening, Fix) | debugging |
| ``diagnosis_score`` | ``diagnosis_first``'s 0..1 score (partial structure earns partial credit) | debugging |
| ``terminology`` | share of the bug category's term groups the answer names | cases with a known bug |
| ``no_anti_patterns`` | 1 when ``anti_patterns`` passes (no refusal, hedging, code-only answer) | all |
| ``assembles`` | 1 when the answer has code and every block assembles with Asar | code tasks, or any answer with code |
| ``fix_passes`` | 1 when the answer's last code block (its fix) passes the case's executable spec | cases with a spec |
| ``hook_valid`` | 1 when the answer patches the ROM and ``rom_patch`` accepts every hook | quest cases, with a map |
| ``flags_free`` | 1 when the quest keeps state in save bytes ``sram_ownership`` accepts | quest cases, with a map |
| ``message_shown`` | 1 when the answer opens its text box through a vanilla message routine | quest cases, with a map |
| ``gold_nll`` | mean NLL per token of an approved reference answer (lower is better; no generation) | gold cases |

A metric that does not apply to a case is ``None`` and is left out of that metric's mean, so each mean
states its own number of cases.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from curation.asm.behaviour import BehaviourSpec, run_spec
from curation.validators import get_validator
from curation.validators.base import ValidationContext
from curation.validators.conventions.rules import MESSAGE_ROUTINES
from curation.validators.patches import shared_asar
from curation.validators.text import code_blocks
from schemas.sample import Kind, Message, Provenance, Role, SampleRevision, SourceType
from schemas.training import CaseScore, EvalCase
from schemas.validation import ValidationResult
from trainer.evaluation.scoring import RULES

METRICS: dict[str, str] = {
    "keyword_substring": "keyword score, original substring rule",
    "keyword_word": "keyword score, whole-word rule",
    "keyword_pass": "keyword pass rate (whole-word rule)",
    "diagnosis_first": "diagnosis-first structure passes",
    "diagnosis_score": "diagnosis-first structure score",
    "terminology": "bug-category terms named",
    "no_anti_patterns": "free of refusals, hedging and code-only answers",
    "assembles": "answer code assembles with Asar",
    "fix_passes": "the answer's fix passes the case's executable spec",
    "hook_valid": "quest hooks accepted on the ROM map",
    "flags_free": "quest state in save bytes nobody else uses",
    "message_shown": "quest text shown through a vanilla message routine",
    "gold_nll": "NLL per token of the gold answer (lower is better)",
}
# Metrics where a fall is the improvement: a difference's verdict reads the other way.
LOWER_IS_BETTER = frozenset({"gold_nll"})
QUEST_METRICS = ("hook_valid", "flags_free", "message_shown")
# Tasks whose answer is expected to contain code: none at all scores 0 on ``assembles``.
CODE_KINDS = {Kind.debug_dialogue, Kind.asm_generate, Kind.asm_optimize, Kind.quest_implementation}
EMPTY_ANSWER = "(no answer)"


@dataclass
class CaseResult:
    case: EvalCase
    response: str
    scores: dict[str, CaseScore]
    metrics: dict[str, float | None] = field(default_factory=dict)
    # What a person needs to see why a metric is low: each validator's failing issues, in words.
    findings: dict[str, list[str]] = field(default_factory=dict)
    contaminated: bool = False


def case_kind(case: EvalCase) -> Kind:
    try:
        return Kind(case.kind) if case.kind else Kind.other
    except ValueError:
        return Kind.other


def as_revision(case: EvalCase, response: str) -> SampleRevision:
    """The (prompt, answer) pair as the sample the validators know how to judge."""
    return SampleRevision(
        kind=case_kind(case),
        category=case.bug_category,
        messages=(
            Message(role=Role.user, content=case.prompt),
            Message(role=Role.assistant, content=response if response.strip() else EMPTY_ANSWER),
        ),
        provenance=Provenance(source_type=SourceType.bootstrap, source_name=f"eval:{case.suite}/{case.name}"),
    )


def _problems(result: ValidationResult) -> list[str]:
    return [i.message for i in result.issues if i.severity in ("error", "warning")]


def _assembles(kind: Kind, result: ValidationResult) -> float | None:
    blocks = result.details.get("answer_blocks", 0)
    if not blocks:
        return 0.0 if kind in CODE_KINDS else None
    refused = any(i.code == "asm_refused" for i in result.issues)
    return 1.0 if result.details.get("answer_blocks_ok") == blocks and not refused else 0.0


def _fix_passes(case: EvalCase, response: str) -> tuple[float, list[str]]:
    """Run the answer's last asm block - its fix - against the case's spec."""
    blocks = [b.code for b in code_blocks(response) if b.is_asm]
    if not blocks:
        return 0.0, ["the answer has no code to run"]
    outcome = run_spec(blocks[-1], BehaviourSpec.from_json(case.behaviour or {}), shared_asar())
    if not outcome.assembled:
        return 0.0, [outcome.error]
    return float(outcome.passed), [str(f) for f in outcome.failures[:3]]


def _quest_metrics(revision: SampleRevision, context: ValidationContext) -> tuple[dict[str, float], list[str]]:
    """The map-aware checks as metrics: would the proposed quest survive an expert's review?"""
    patch = get_validator("rom_patch").validate_in(revision, context)
    flags = get_validator("sram_ownership").validate_in(revision, context)
    conventions = get_validator("alttp_conventions").validate_in(revision, context)
    patched = not any(i.code == "no_patch" for i in patch.issues)
    has_state = bool(flags.details.get("flags"))
    calls_message = any(f"JSL {name}" in revision.answer for name in MESSAGE_ROUTINES)
    unshown = any(i.code == "message_without_routine" for i in conventions.issues)
    metrics = {
        "hook_valid": float(patched and patch.passed),
        "flags_free": float(has_state and flags.passed),
        "message_shown": float(calls_message and not unshown),
    }
    findings = _problems(patch) + _problems(flags) + [i.message for i in conventions.issues if i.severity == "error"]
    if not patched:
        findings.append("no ROM patch (org/freecode) in the answer")
    if not has_state:
        findings.append("no save byte that the quest tests and sets")
    return metrics, findings


def score_cases(
    cases: Sequence[EvalCase],
    responses: dict[tuple[str, str], str],
    context: ValidationContext | None = None,
) -> list[CaseResult]:
    """Score every case that has a response: both keyword rules, then the validators (Asar in one batch).
    ``context`` carries the workspace's ROM map for the quest metrics (without one they are left out)."""

    chosen = [c for c in cases if (c.suite, c.name) in responses]
    revisions = [as_revision(c, responses[(c.suite, c.name)]) for c in chosen]
    diagnosis, terms, anti = (get_validator(n) for n in ("diagnosis_first", "terminology", "anti_patterns"))
    assembled = get_validator("asm_assembles").validate_many(revisions) if revisions else []
    results = []
    for case, revision, asm in zip(chosen, revisions, assembled, strict=True):
        response = responses[(case.suite, case.name)]
        keyword = {rule: fn(case, response) for rule, fn in RULES.items()}
        kind = case_kind(case)
        has_keywords = bool(case.expected_keywords)
        metrics: dict[str, float | None] = {
            "keyword_substring": keyword["substring"].score if has_keywords else None,
            "keyword_word": keyword["word"].score if has_keywords else None,
            "keyword_pass": float(keyword["word"].passed) if has_keywords else None,
            "diagnosis_first": None,
            "diagnosis_score": None,
            "terminology": None,
        }
        findings: dict[str, list[str]] = {}
        if kind == Kind.debug_dialogue:
            verdict = diagnosis.validate(revision)
            metrics["diagnosis_first"], metrics["diagnosis_score"] = float(verdict.passed), verdict.score
            findings["diagnosis_first"] = _problems(verdict)
        if case.bug_category:
            verdict = terms.validate(revision)
            if verdict.details.get("checked"):
                metrics["terminology"] = verdict.score
                findings["terminology"] = [f"missing: {m}" for m in verdict.details.get("missing", [])]
        verdict = anti.validate(revision)
        metrics["no_anti_patterns"] = float(verdict.passed)
        findings["anti_patterns"] = _problems(verdict)
        metrics["assembles"] = _assembles(kind, asm)
        findings["asm_assembles"] = [i.message for i in asm.issues if i.severity == "error"]
        metrics["fix_passes"] = None
        if case.behaviour:
            metrics["fix_passes"], findings["fix_passes"] = _fix_passes(case, response)
        for name in QUEST_METRICS:
            metrics[name] = None
        if kind == Kind.quest_implementation and context is not None and context.rom_map is not None:
            quest, findings["game_checks"] = _quest_metrics(revision, context)
            metrics.update(quest)
        results.append(CaseResult(case, response, keyword, metrics, {k: v for k, v in findings.items() if v}))
    return results


def higher_is_better(metric: str) -> bool:
    return metric not in LOWER_IS_BETTER


def metric_values(results: Sequence[CaseResult], metric: str, *, include_contaminated: bool = False) -> list[float]:
    return [
        v for r in results if (include_contaminated or not r.contaminated) and (v := r.metrics.get(metric)) is not None
    ]


def summarise(results: Sequence[CaseResult], *, include_contaminated: bool = False) -> dict[str, Any]:
    """Mean and number of cases per metric (contaminated cases left out unless asked)."""
    out: dict[str, Any] = {}
    for metric in METRICS:
        values = metric_values(results, metric, include_contaminated=include_contaminated)
        out[metric] = {"mean": round(sum(values) / len(values), 4) if values else None, "n": len(values)}
    return out
