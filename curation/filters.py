"""A small, safe filter language for choosing samples.

Users write ``--where "status = approved and kind = debug_dialogue and category in (dma_setup, mode_mismatch)"``
on the CLI, and the HTTP service accepts the same strings from curators. It compiles to a parameterised
SQL predicate over the ``samples`` view, so no user text ever becomes SQL.

Grammar::

    expr       := term ('or' term)*
    term       := factor ('and' factor)*
    factor     := 'not' factor | '(' expr ')' | comparison
    comparison := field op value
                | field ['not'] 'in' '(' value (',' value)* ')'
                | field 'is' ['not'] 'null'
    op         := '=' | '!=' | '<' | '<=' | '>' | '>=' | '~'     ('~' = case-insensitive contains)
    field      := one of FIELDS | 'metadata.' key | 'predicted.' task ['_score']
    value      := bare word | 'single' or "double" quoted string | number | true | false
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from curation.errors import Invalid
from schemas.sample import SAMPLE_STATUSES, Kind, SourceType


class FilterError(Invalid, ValueError):
    """The filter text is not valid; the message says where and why."""


FIELDS: dict[str, str] = {
    "id": "id",
    "parent_id": "parent_id",
    "kind": "kind",
    "category": "category",
    "status": "status",
    "source_type": "source_type",
    "source_name": "source_name",
    "created_at": "created_at",
    "text": "CAST(messages AS VARCHAR)",
    "validation": "validation",
    "validation_score": "validation_score",
    "duplicate_of": "duplicate_of",
    # 0-99 from the sha256 of the sample's user turns: a fixed split that never moves with the data around
    # it, e.g. ``split < 20`` for a held-out gold set and ``split >= 20`` for the arms trained beside it. A
    # correction and the sample it corrects, or two answers to one prompt, fall on the same side.
    "split": "(('0x' || substr(sha256(array_to_string(list_transform(list_filter(from_json(messages, "
    '\'[{"role":"VARCHAR","content":"VARCHAR"}]\'), m -> m.role = \'user\'), m -> m.content), '
    "chr(10))), 1, 8))::BIGINT % 100)",
}
NUMERIC_FIELDS = frozenset({"validation_score", "split"})

# ``triforge classify`` predictions (classifier_predictions, one per sample and task): the label, and
# its probability as ``predicted.<task>_score``. Task names are this fixed list, never user text in SQL.
PREDICTED_TASKS = ("kind", "category", "intent")
_PREDICTED = "(SELECT p.{column} FROM classifier_predictions p WHERE p.revision_id = samples.id AND p.task = '{task}')"

ENUM_VALUES: dict[str, tuple[str, ...]] = {
    "kind": tuple(k.value for k in Kind),
    "status": SAMPLE_STATUSES,
    "source_type": tuple(s.value for s in SourceType),
    "validation": ("passed", "failed", "pending"),
    "predicted.kind": tuple(k.value for k in Kind),
    "predicted.intent": ("debugging", "generation", "optimization", "explanation"),
}

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
      | (?P<op><=|>=|!=|=|<|>|~)
      | (?P<punct>[(),])
      | (?P<word>[A-Za-z0-9_.:$#+\-/*@%]+)
    )""",
    re.VERBOSE,
)
_KEYWORDS = {"and", "or", "not", "in", "is", "null"}
_METADATA_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class _Token:
    kind: str  # string | op | punct | word | end
    text: str
    pos: int


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        match = _TOKEN.match(text, pos)
        if not match or match.end() == pos:
            raise FilterError(f"unexpected character {text[pos:].lstrip()[:1]!r} at position {pos}")
        kind = match.lastgroup or "word"
        tokens.append(_Token(kind, match.group(kind), match.start(kind)))
        pos = match.end()
    tokens.append(_Token("end", "", len(text)))
    return tokens


@dataclass
class CompiledFilter:
    sql: str
    params: list[object]


MAX_NESTING = 32


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokenize(text)
        self.i = 0
        self.params: list[object] = []
        self.depth = 0  # open parentheses and nots: bounded, so deep nesting is an error, not a RecursionError

    def peek(self) -> _Token:
        return self.tokens[self.i]

    def next(self) -> _Token:
        token = self.tokens[self.i]
        self.i += 1
        return token

    def at_word(self, *words: str) -> bool:
        token = self.peek()
        return token.kind == "word" and token.text.lower() in words

    def expect(self, kind: str, text: str | None = None) -> _Token:
        token = self.next()
        if token.kind != kind or (text is not None and token.text.lower() != text):
            wanted = text or kind
            found = token.text or "end of filter"
            raise FilterError(f"expected {wanted!r} at position {token.pos}, found {found!r}")
        return token

    def parse(self) -> CompiledFilter:
        sql = self.expr()
        if self.peek().kind != "end":
            token = self.peek()
            raise FilterError(f"unexpected {token.text!r} at position {token.pos}; join conditions with and/or")
        return CompiledFilter(sql, self.params)

    def expr(self) -> str:
        parts = [self.term()]
        while self.at_word("or"):
            self.next()
            parts.append(self.term())
        return parts[0] if len(parts) == 1 else "(" + " OR ".join(parts) + ")"

    def term(self) -> str:
        parts = [self.factor()]
        while self.at_word("and"):
            self.next()
            parts.append(self.factor())
        return parts[0] if len(parts) == 1 else "(" + " AND ".join(parts) + ")"

    def factor(self) -> str:
        if self.at_word("not") or (self.peek().kind == "punct" and self.peek().text == "("):
            self.depth += 1
            if self.depth > MAX_NESTING:
                raise FilterError(
                    f"parentheses and nots nested more than {MAX_NESTING} deep at position {self.peek().pos}"
                )
            try:
                if self.next().text.lower() == "not":
                    return f"(NOT {self.factor()})"
                inner = self.expr()
                self.expect("punct", ")")
                return inner
            finally:
                self.depth -= 1
        return self.comparison()

    def field(self) -> tuple[str, str]:
        token = self.next()
        if token.kind != "word" or token.text.lower() in _KEYWORDS:
            raise FilterError(f"expected a field name at position {token.pos}, found {token.text or 'end'!r}")
        name = token.text
        if name.startswith("metadata."):
            key = name.removeprefix("metadata.")
            if not _METADATA_KEY.match(key):
                raise FilterError(f"invalid metadata key {key!r} at position {token.pos}")
            return name, f"json_extract_string(metadata, '$.{key}')"
        if name.startswith("predicted."):
            task = name.removeprefix("predicted.").removesuffix("_score")
            if task not in PREDICTED_TASKS:
                tasks = ", ".join(PREDICTED_TASKS)
                raise FilterError(f"unknown prediction {name!r} at position {token.pos}; predicted tasks: {tasks}")
            column = "score" if name.endswith("_score") else "label"
            return name, _PREDICTED.format(column=column, task=task)
        if name not in FIELDS:
            known = ", ".join([*FIELDS, "metadata.<key>", "predicted.<task>[_score]"])
            raise FilterError(f"unknown field {name!r} at position {token.pos}; known fields: {known}")
        return name, FIELDS[name]

    def value(self, field: str) -> str:
        token = self.next()
        if token.kind == "string":
            raw = token.text[1:-1]
            value = re.sub(r"\\(.)", r"\1", raw)
        elif token.kind == "word" and token.text.lower() not in _KEYWORDS:
            value = token.text
        else:
            raise FilterError(f"expected a value at position {token.pos}, found {token.text or 'end'!r}")
        allowed = ENUM_VALUES.get(field)
        if allowed and value not in allowed:
            raise FilterError(f"unknown {field} {value!r}; expected one of: {', '.join(allowed)}")
        return value

    def comparison(self) -> str:
        name, column = self.field()
        if self.at_word("is"):
            self.next()
            negate = self.at_word("not")
            if negate:
                self.next()
            self.expect("word", "null")
            return f"({column} IS {'NOT ' if negate else ''}NULL)"
        negate_in = False
        if self.at_word("not"):
            self.next()
            negate_in = True
            if not self.at_word("in"):
                raise FilterError(f"expected 'in' after 'not' at position {self.peek().pos}")
        if self.at_word("in"):
            self.next()
            self.expect("punct", "(")
            values = [self.value(name)]
            while self.peek().kind == "punct" and self.peek().text == ",":
                self.next()
                values.append(self.value(name))
            self.expect("punct", ")")
            self.params.extend(values)
            marks = ", ".join("?" for _ in values)
            return f"({column} {'NOT ' if negate_in else ''}IN ({marks}))"
        op = self.next()
        if op.kind != "op":
            raise FilterError(f"expected an operator (= != < <= > >= ~ in is) at position {op.pos}")
        value = self.value(name)
        if op.text == "~":
            self.params.append(value)
            return f"(contains(lower({column}), lower(?)))"
        is_score = name in NUMERIC_FIELDS or (name.startswith("predicted.") and name.endswith("_score"))
        if is_score and _is_number(value):
            self.params.append(float(value))
            return f"({column} {op.text} ?)"
        if name.startswith("metadata.") and op.text in ("<", "<=", ">", ">=") and _is_number(value):
            self.params.append(float(value))
            return f"(TRY_CAST({column} AS DOUBLE) {op.text} ?)"
        if name.startswith("metadata.") and op.text in ("=", "!=") and _is_number(value):
            # Metadata values are JSON: 0.8 may arrive as 0.80 or "0.8"; equal as text or as numbers.
            self.params.extend([value, float(value)])
            equal = f"({column} = ? OR coalesce(TRY_CAST({column} AS DOUBLE) = ?, false))"
            return equal if op.text == "=" else f"(NOT {equal})"
        self.params.append(value)
        if name == "created_at":
            return f"({column} {op.text} CAST(? AS TIMESTAMP))"
        return f"({column} {op.text} ?)"


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def compile_filter(text: str | None) -> CompiledFilter:
    """Compile a filter; an empty filter or ``all`` matches everything."""
    if text is None or text.strip() in ("", "all", "*"):
        return CompiledFilter("TRUE", [])
    return _Parser(text).parse()
