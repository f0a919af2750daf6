"""Loading keyword suites: ``{"scoring": ..., "suites": {NAME: [case, ...]}}`` or a bare ``[case, ...]``."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import ValidationError

from curation.store import StoreError
from schemas.training import EvalCase


def load_suite_file(path: Path) -> list[EvalCase]:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise StoreError(f"{path}: cannot read eval suite: {exc}") from exc
    groups = data.get("suites") if isinstance(data, dict) else {Path(path).stem: data}
    if not isinstance(groups, dict) or not groups:
        raise StoreError(f"{path}: expected {{'suites': {{NAME: [cases]}}}} or a list of cases")
    cases: list[EvalCase] = []
    seen: set[tuple[str, str]] = set()
    for suite, items in groups.items():
        if not isinstance(items, list):
            raise StoreError(f"{path}: suite {suite!r} is not a list of cases")
        for i, item in enumerate(items):
            try:
                case = EvalCase.model_validate({"suite": suite, **item})
            except ValidationError as exc:
                reasons = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
                raise StoreError(f"{path}: {suite}[{i}]: {reasons}") from exc
            except TypeError as exc:
                raise StoreError(f"{path}: {suite}[{i}]: a case must be an object") from exc
            if (suite, case.name) in seen:
                raise StoreError(f"{path}: {suite}[{i}]: duplicate case name {case.name!r}")
            if not case.expected_keywords:
                raise StoreError(f"{path}: {suite}[{i}] ({case.name}): expected_keywords is empty")
            seen.add((suite, case.name))
            cases.append(case)
    return cases
