"""The two keyword rules, side by side.

``substring`` is the original rule, exactly as ``triforce_eval_cases.json`` states it: a keyword is found
if its lowercase form is a substring of the lowercased response; score = found / expected; any
anti-keyword halves the score; passed = score >= 0.6 and no anti-keyword. It over-credits: "MUL" is
"found" in "multiply", "$10" in "$1000", "Y" in any word with a y.

``word`` is the corrected rule: the same arithmetic, but a keyword counts only as a whole token - not
preceded or followed by a letter, digit, ``_`` or ``$``. Operands keep their sigils, so "$10" matches
"STZ $10" and "#$10" but not "$1000"; mnemonics match "STZ" but not "STZero". Case stays insensitive.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache

from schemas.training import CaseScore, EvalCase

PASS_THRESHOLD = 0.6
_WORD_CHARS = r"[0-9A-Za-z_$]"


def substring_found(keyword: str, response: str) -> bool:
    return keyword.lower() in response.lower()


@lru_cache(maxsize=4096)
def _word_pattern(keyword: str) -> re.Pattern[str]:
    return re.compile(rf"(?<!{_WORD_CHARS}){re.escape(keyword)}(?!{_WORD_CHARS})", re.IGNORECASE)


def word_found(keyword: str, response: str) -> bool:
    return _word_pattern(keyword).search(response) is not None


def _score(case: EvalCase, response: str, found_fn: Callable[[str, str], bool]) -> CaseScore:
    found = [k for k in case.expected_keywords if found_fn(k, response)]
    missing = [k for k in case.expected_keywords if k not in found]
    anti = [k for k in case.anti_keywords if found_fn(k, response)]
    score = len(found) / len(case.expected_keywords) if case.expected_keywords else 0.0
    if anti:
        score /= 2
    return CaseScore(
        score=round(score, 4),
        passed=score >= PASS_THRESHOLD and not anti,
        found=found,
        missing=missing,
        anti_found=anti,
    )


def score_substring(case: EvalCase, response: str) -> CaseScore:
    return _score(case, response, substring_found)


def score_word(case: EvalCase, response: str) -> CaseScore:
    return _score(case, response, word_found)


RULES: dict[str, Callable[[EvalCase, str], CaseScore]] = {"substring": score_substring, "word": score_word}
