"""Streaming JSONL reader that turns every kind of bad input into a line-numbered error.

It never raises for content problems: each line comes back either parsed or with an ``error``, so
the importer can decide (skip or abort) per the user's ``--on-error``. JSON is parsed strictly
(:mod:`schemas.json_input`): NaN, infinities, duplicate keys, lone surrogates and nesting past 64
levels make a row malformed rather than a stored oddity or a traceback. Lines are read with a size
cap, so a 2 GB line cannot exhaust memory before being rejected.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from schemas.json_input import JSONInputError, loads_strict

MAX_ROW_BYTES = 1024 * 1024
_CHUNK = 1024 * 1024


@dataclass(frozen=True)
class RawRow:
    line: int
    value: dict[str, Any] | None
    text: str | None
    error: str | None = None


def _skip_rest_of_line(handle: Any) -> int:
    """Consume an oversized line; return how many more bytes it had."""
    skipped = 0
    while True:
        chunk = handle.readline(_CHUNK)
        skipped += len(chunk)
        if not chunk or chunk.endswith(b"\n"):
            return skipped


def read_jsonl(
    path: Path,
    *,
    max_row_bytes: int = MAX_ROW_BYTES,
    on_progress: Callable[[int], None] | None = None,
) -> Iterator[RawRow]:
    """Yield one ``RawRow`` per non-blank line. An empty file yields a single error at line 0."""
    seen_content = False
    with open(path, "rb") as handle:
        line_no = 0
        while True:
            raw = handle.readline(max_row_bytes + 1)
            if not raw:
                break
            line_no += 1
            consumed = len(raw)
            if len(raw) > max_row_bytes and not raw.endswith(b"\n"):
                consumed += _skip_rest_of_line(handle)
                seen_content = True
                if on_progress:
                    on_progress(consumed)
                yield RawRow(line_no, None, None, f"row is {consumed:,} bytes, over the {max_row_bytes:,}-byte limit")
                continue
            if on_progress:
                on_progress(consumed)
            if line_no == 1 and raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                seen_content = True
                yield RawRow(
                    line_no,
                    None,
                    None,
                    f"not valid UTF-8 (byte {exc.start} of the line: {raw[exc.start : exc.start + 1]!r})",
                )
                continue
            text = text.strip()
            if not text:
                continue
            seen_content = True
            try:
                value = loads_strict(text)
            except JSONInputError as exc:
                yield RawRow(line_no, None, text, f"malformed JSON: {exc.message}")
                continue
            if not isinstance(value, dict):
                yield RawRow(line_no, None, text, f"expected a JSON object, found {type(value).__name__}")
                continue
            yield RawRow(line_no, value, text)
    if not seen_content:
        yield RawRow(0, None, None, "file is empty: no rows to import")
