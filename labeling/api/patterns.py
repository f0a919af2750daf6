"""The patterns request schemas state for ids, names and filters, so the OpenAPI document says
exactly what the handlers accept (and FastAPI enforces the same pattern it publishes).

Ids: sample ids are SHA-256 hex, also accepted as a unique prefix of 6+ characters (like git);
submission ids are uuid4 hex; key ids are ``tf_`` + 8 characters. Snapshot refs are a name or an
id prefix. The ``where`` filter is the curation filter language (``curation.filters``)
restricted to a regular subset: the comparisons each field's type supports, each optionally negated
with ``not``, joined by ``and``/``or`` (``and`` binds tighter), no parentheses - which keeps the
pattern small; ``in (...)`` lists cover most needs. A string the pattern admits always compiles and
runs; the CLI keeps the full language (parentheses, and comparisons DuckDB only rejects when run).
"""

from __future__ import annotations

import re
import string

from curation.filters import ENUM_VALUES, PREDICTED_TASKS

SAMPLE_ID = r"^[0-9a-f]{6,64}$"
SUBMISSION_ID = r"^[0-9a-f]{32}$"
KEY_ID = r"^tf_[A-Za-z0-9_-]{8}$"
DEDUP_RUN = r"^(latest|[0-9a-f]{1,16})$"
CATEGORY = r"^[a-z0-9_]+$"
# Names of people and snapshots: no leading dot (a path segment of dots is rewritten by clients).
NAME = r"^[A-Za-z0-9][A-Za-z0-9._@+-]*( [A-Za-z0-9._@+-]+)*$"
SNAPSHOT_REF = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$"

WHERE_MAX_LENGTH = 2000

# How each filter field compares (tests check that every field of curation.filters is placed).
# ``predicted.<task>`` (triforge classify): the enum tasks are in ENUM_VALUES, the category is text,
# and every task's probability is a number.
PREDICTED_SCORES = tuple(f"predicted.{task}_score" for task in PREDICTED_TASKS)
NUMBER_FIELDS = ("validation_score", "split", *PREDICTED_SCORES)
TIME_FIELDS = ("created_at",)
ENUM_FIELDS = tuple(ENUM_VALUES)
TEXT_FIELDS = ("id", "parent_id", "category", "source_name", "text", "duplicate_of", "predicted.category")

_KEYWORDS = ("and", "or", "not", "in", "is", "null")
# The tokenizer's bare-word characters (curation.filters._TOKEN).
_WORD_CHARS = string.ascii_letters + string.digits + "_.:$#+-/*@%"


def _char_class(chars: str) -> str:
    """A character class for ``chars``, runs of consecutive characters written as ranges."""
    codes = sorted({ord(c) for c in chars})
    runs: list[list[int]] = []
    for code in codes:
        if runs and code == runs[-1][1] + 1:
            runs[-1][1] = code
        else:
            runs.append([code, code])

    def esc(code: int) -> str:
        c = chr(code)
        return "\\" + c if c in "\\]^-[" else c

    parts = [esc(a) if a == b else esc(a) + esc(b) if b == a + 1 else f"{esc(a)}-{esc(b)}" for a, b in runs]
    return "[" + "".join(parts) + "]"


def _word_except_keywords() -> str:
    """Bare words that are not keywords (any case), without lookarounds: walk a trie of the
    keywords; at each node a word may end (if the prefix is no keyword), continue into the trie,
    or leave it with any other character."""

    def node(prefix: str) -> str:
        children = sorted({k[len(prefix)] for k in _KEYWORDS if k.startswith(prefix) and len(k) > len(prefix)})
        options = [f"[{c}{c.upper()}]{node(prefix + c)}" for c in children]
        others = "".join(c for c in _WORD_CHARS if c.lower() not in children)
        options.append(f"{_char_class(others)}{_char_class(_WORD_CHARS)}*")
        optional = bool(prefix) and prefix not in _KEYWORDS
        return "(?:" + "|".join(options) + ")" + ("?" if optional else "")

    return node("")


def _alternatives(options: tuple[str, ...] | list[str]) -> str:
    return "(?:" + "|".join(re.escape(o) for o in options) + ")"


def _comparison(fields: str, ops: tuple[str, ...], value: str, *, listable: bool = True) -> str:
    """``field op value``, ``field [not] in (value, ...)`` and ``field is [not] null``."""
    shapes = [rf" *{_alternatives(ops)} *{value}", r" +is +(?:not +)?null"]
    if listable:
        shapes.append(rf" +(?:not +)?in *\( *{value}(?: *, *{value})* *\)")
    return f"{fields}(?:{'|'.join(shapes)})"


def _where_pattern() -> str:
    word = _word_except_keywords()
    # Quoted values: no backslash escapes and no control characters, so every engine reads them alike.
    text = rf"(?:{word}|'[^'\\\x00-\x1f]*'|\"[^\"\\\x00-\x1f]*\")"
    number = r"-?[0-9]{1,15}(?:\.[0-9]{1,15})?"
    day = r"(?:(?:0[1-9]|1[0-2])-(?:0[1-9]|1[0-9]|2[0-8])|(?:0[13-9]|1[0-2])-(?:29|30)|(?:0[13578]|1[02])-31)"
    timestamp = rf"(?:19|20)[0-9]{{2}}-{day}(?:T(?:[01][0-9]|2[0-3]):[0-5][0-9](?::[0-5][0-9])?)?"
    ordering = ("<=", ">=", "!=", "=", "<", ">")
    metadata = r"metadata\.[A-Za-z_][A-Za-z0-9_]*"
    conditions = [_comparison(re.escape(f), ("!=", "="), _alternatives(ENUM_VALUES[f])) for f in ENUM_FIELDS]
    text_fields = "(?:" + "|".join([*map(re.escape, TEXT_FIELDS), metadata]) + ")"
    conditions.append(_comparison(text_fields, ("!=", "=", "~"), text))
    conditions.append(_comparison(_alternatives(NUMBER_FIELDS), ordering, number, listable=False))
    conditions.append(_comparison(_alternatives(TIME_FIELDS), ordering, timestamp, listable=False))
    conditions.append(_comparison(metadata, ("<=", ">=", "<", ">"), number, listable=False))
    condition = "(?:not +)?(?:" + "|".join(conditions) + ")"
    return rf"^ *(?:all|\*|{condition}(?: +(?:and|or) +{condition})*)? *$"


WHERE = _where_pattern()
