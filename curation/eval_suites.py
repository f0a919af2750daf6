"""Loading eval suites in the field's three shapes, as one list of ``EvalCase``.

- keyword suites (``triforce_eval_cases.json``): ``{"suites": {NAME: [case, ...]}}`` or a bare ``[case, ...]``;
- router eval files (``router_*_eval.jsonl``): ``{id, query, expected_intent, expected_contains}`` rows;
- benchmark rows (``farore_benchmark.jsonl``): ``{id, category, code, expected_output, metadata}``, which
  become debugging cases whose prompt is the one the importer builds for the same row (so the
  contamination check recognises a benchmark row that was also imported for training) and whose
  expected terms are the category's terms plus the mnemonics the fix adds.

Every case gets a ``kind`` (which validator-based scorers apply) and, where the case is about a known bug,
a ``bug_category`` (which term list ``terminology`` checks).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from curation.errors import Invalid
from curation.importers.formats import BenchmarkRow, benchmark_prompt
from curation.validators.terms import terms_for
from schemas.sample import Kind
from schemas.training import EvalCase

# The keyword suites label cases by task; these are the sample kinds whose validators judge such answers.
CATEGORY_KINDS = {
    "code_generation": Kind.asm_generate,
    "optimization": Kind.asm_optimize,
    "debugging": Kind.debug_dialogue,
    "hardware_knowledge": Kind.asm_explain,
    "alttp_knowledge": Kind.asm_explain,
    "data_architecture": Kind.asm_generate,
    "state_machine": Kind.asm_generate,
    "memory_management": Kind.asm_generate,
    "build_integration": Kind.asm_generate,
}
# The field's MoE router classes.
INTENT_KINDS = {
    "debugging": Kind.debug_dialogue,
    "generation": Kind.asm_generate,
    "optimization": Kind.asm_optimize,
    "explanation": Kind.asm_explain,
}
# FARORE_TESTS say only "debugging"; their names say which bug, and so which terms a diagnosis needs.
NAMED_BUGS = {
    "detect_mode_mismatch": "mode_mismatch",
    "detect_missing_sep": "missing_sep",
    "detect_stack_corruption": "stack_imbalance",
    "detect_register_clobber": "register_clobber",
    "detect_dma_error": "dma_setup",
}
_MNEMONIC = re.compile(r"\b([A-Z]{3})\b")


def load_suite_file(path: Path) -> list[EvalCase]:
    """Read any of the three shapes; raises ``StoreError`` naming the file and the case or line."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise Invalid(f"{path}: cannot read eval suite: {exc}") from exc
    if path.suffix == ".jsonl":
        return _load_jsonl(path, text)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise Invalid(f"{path}: cannot read eval suite: {exc}") from exc
    return _load_keyword_suites(path, data)


def _load_keyword_suites(path: Path, data: Any) -> list[EvalCase]:
    groups = data.get("suites") if isinstance(data, dict) else {path.stem: data}
    if not isinstance(groups, dict) or not groups:
        raise Invalid(f"{path}: expected {{'suites': {{NAME: [cases]}}}} or a list of cases")
    cases: list[EvalCase] = []
    seen: set[tuple[str, str]] = set()
    for suite, items in groups.items():
        if not isinstance(items, list):
            raise Invalid(f"{path}: suite {suite!r} is not a list of cases")
        for i, item in enumerate(items):
            if not isinstance(item, dict):
                raise Invalid(f"{path}: {suite}[{i}]: a case must be an object")
            fields = {k: item[k] for k in EvalCase.model_fields if k in item}
            category = fields.get("category")
            fields.setdefault("kind", CATEGORY_KINDS.get(category).value if category in CATEGORY_KINDS else None)
            bug = NAMED_BUGS.get(str(item.get("name")))
            if bug is None and isinstance(category, str) and terms_for(category):
                bug = category
            fields.setdefault("bug_category", bug)
            case = _validated(path, f"{suite}[{i}]", {"suite": suite, **fields})
            if (suite, case.name) in seen:
                raise Invalid(f"{path}: {suite}[{i}]: duplicate case name {case.name!r}")
            seen.add((suite, case.name))
            cases.append(case)
    return cases


def _load_jsonl(path: Path, text: str) -> list[EvalCase]:
    cases: list[EvalCase] = []
    seen: set[str] = set()
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise Invalid(f"{path}:{number}: malformed JSON: {exc.msg}") from None
        if not isinstance(row, dict):
            raise Invalid(f"{path}:{number}: a case must be an object")
        if {"name", "prompt", "kind"} <= row.keys():  # a case row as Triforge writes them (eval make-suite)
            fields = {k: v for k, v in row.items() if k != "suite"}
        elif "query" in row and ("expected_contains" in row or "expected_intent" in row):
            fields = _router_case(row)
        elif {"code", "expected_output", "category"} <= row.keys():
            fields = _benchmark_case(path, number, row)
        else:
            raise Invalid(
                f"{path}:{number}: expected a case row {{name, prompt, kind, expected_keywords, ...}}, a router "
                "row {id, query, expected_intent, expected_contains} or a benchmark row "
                "{id, category, code, expected_output}"
            )
        # A case judged by running its code or by the game checks needs no keyword list.
        judged_otherwise = bool(fields.get("behaviour")) or fields.get("kind") == "quest_implementation"
        keywords_required = "query" not in row and not judged_otherwise
        case = _validated(path, f"line {number}", {"suite": path.stem, **fields}, keywords_required=keywords_required)
        if case.name in seen:
            raise Invalid(f"{path}:{number}: duplicate case id {case.name!r}")
        seen.add(case.name)
        cases.append(case)
    if not cases:
        raise Invalid(f"{path}: no eval cases")
    return cases


def _router_case(row: dict[str, Any]) -> dict[str, Any]:
    intent = row.get("expected_intent")
    return {
        "name": row.get("id"),
        "prompt": row.get("query"),
        # A few router rows only test the intent: no keywords, so the keyword metrics skip them.
        "expected_keywords": row.get("expected_contains") or [],
        "category": intent,
        "kind": INTENT_KINDS[intent].value if intent in INTENT_KINDS else None,
    }


def _benchmark_case(path: Path, number: int, row: dict[str, Any]) -> dict[str, Any]:
    try:
        parsed = BenchmarkRow.model_validate(row)
    except ValidationError as exc:
        raise Invalid(f"{path}:{number}: {_reasons(exc)}") from exc
    groups = terms_for(parsed.category) or ()
    # The first spelling of each term group, then the instructions the fix adds: what a diagnosis names.
    keywords = [g.alternatives[0] for g in groups]
    added = [m for m in dict.fromkeys(_MNEMONIC.findall(parsed.expected_output)) if m not in parsed.code]
    keywords += [m for m in added if m not in keywords]
    return {
        "name": parsed.id,
        "prompt": benchmark_prompt(parsed),
        "expected_keywords": keywords or [parsed.category.replace("_", " ")],
        "category": parsed.category,
        "kind": Kind.debug_dialogue.value,
        "bug_category": parsed.category if groups else None,
    }


def _validated(path: Path, where: str, fields: dict[str, Any], *, keywords_required: bool = True) -> EvalCase:
    try:
        case = EvalCase.model_validate(fields)
    except ValidationError as exc:
        raise Invalid(f"{path}: {where}: {_reasons(exc)}") from exc
    if keywords_required and not case.expected_keywords:
        raise Invalid(f"{path}: {where} ({case.name}): expected_keywords is empty")
    return case


def _reasons(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
