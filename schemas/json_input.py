"""Strict JSON for untrusted input: what Python's ``json`` lets through and nothing downstream expects.

``json.loads`` accepts ``NaN``, ``Infinity`` and ``1e999`` (which become floats no JSON encoder may
write back), keeps the last of two duplicate keys without a word, returns strings holding lone
surrogates (``"\\ud800"``, which cannot be encoded as UTF-8 again) and recurses once per nesting
level, so 100k nested brackets raise ``RecursionError``. Every door that parses a contributor's or a
file's JSON - the importer, the HTTP service - goes through :func:`loads_strict`, which turns each of
these into a :class:`JSONInputError` with a message a person can act on, so one bad row is a
reported row and never a traceback, a 500 or a silently changed value.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

MAX_DEPTH = 64
# Cheap pre-checks keep the walk off the common path: only text that could hold a surrogate escape,
# or more brackets than the depth limit, is walked.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


class JSONInputError(ValueError):
    """Input that is not acceptable JSON; ``position`` is the character offset where known."""

    def __init__(self, message: str, position: int = 0) -> None:
        super().__init__(message)
        self.message = message
        self.position = position


def _reject_constant(name: str) -> Any:
    raise JSONInputError(f"{name} is not a JSON number (JSON has no NaN or infinities)")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise JSONInputError(f"number {text[:40]} is out of range for a 64-bit float")
    return value


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj: dict[str, Any] = {}
    for key, value in pairs:
        if key in obj:
            raise JSONInputError(f"duplicate key {key[:80]!r} in one object")
        obj[key] = value
    return obj


def _has_lone_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _check_tree(value: Any, max_depth: int, *, surrogates: bool, depth_check: bool) -> None:
    """Walk without recursion: depth over ``max_depth`` and strings that cannot be UTF-8 are refused."""
    stack: list[tuple[Any, int, str]] = [(value, 0, "")]
    while stack:
        node, depth, path = stack.pop()
        if depth_check and depth >= max_depth and isinstance(node, (dict, list)):  # the top one is level 1
            raise JSONInputError(f"nested more than {max_depth} levels deep (at {path or 'the top'})")
        if isinstance(node, dict):
            for key, child in node.items():
                if surrogates and _has_lone_surrogate(key):
                    raise JSONInputError(f"a key under {path or 'the top'} holds a lone UTF-16 surrogate")
                stack.append((child, depth + 1, f"{path}.{key}" if path else key))
        elif isinstance(node, list):
            stack.extend((child, depth + 1, f"{path}.{i}" if path else str(i)) for i, child in enumerate(node))
        elif surrogates and isinstance(node, str) and _has_lone_surrogate(node):
            raise JSONInputError(
                f"field '{path or '(top)'}' holds a lone UTF-16 surrogate (\\ud800-\\udfff): not encodable as UTF-8"
            )


def loads_strict(text: str | bytes, *, max_depth: int = MAX_DEPTH) -> Any:
    """Parse ``text`` as JSON, refusing NaN/Infinity, out-of-range numbers, duplicate keys, lone
    surrogates and nesting deeper than ``max_depth``. Raises :class:`JSONInputError` (a ValueError),
    whose ``position`` is set for syntax errors."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise JSONInputError(f"not valid UTF-8 (byte {exc.start})", exc.start) from None
    try:
        value = json.loads(
            text, parse_constant=_reject_constant, parse_float=_finite_float, object_pairs_hook=_unique_keys
        )
    except JSONInputError:
        raise
    except json.JSONDecodeError as exc:
        raise JSONInputError(f"{exc.msg} at column {exc.colno}", exc.pos) from None
    except RecursionError:
        raise JSONInputError(f"nested more than {max_depth} levels deep") from None
    except ValueError as exc:  # e.g. an integer past Python's 4,300-digit conversion limit
        raise JSONInputError(str(exc)) from None
    surrogates = _SURROGATE_ESCAPE.search(text) is not None
    depth_check = text.count("[") + text.count("{") > max_depth
    if surrogates or depth_check:
        _check_tree(value, max_depth, surrogates=surrogates, depth_check=depth_check)
    return value


__all__ = ["MAX_DEPTH", "JSONInputError", "loads_strict"]
