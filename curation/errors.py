"""The errors a user can act on, as a small hierarchy that each front end maps once.

A library function raises the kind of problem it found - :class:`NotFound`, :class:`Conflict` or
:class:`Invalid` - and the front ends translate the kind, never the message: the CLI to an exit code
(:func:`exit_code`), the HTTP API to a status (:func:`http_status`). A plain :class:`StoreError` is a
problem a user can act on that fits none of the three (the CLI prints it without a traceback).
"""

from __future__ import annotations


class StoreError(RuntimeError):
    """A problem a user can act on; the CLI prints the message without a traceback."""


class NotFound(StoreError):
    """The thing named (a sample, snapshot, run, key, submission) does not exist."""


class Conflict(StoreError):
    """The request clashes with the store's current state: a name taken, an ambiguous id prefix, a lock."""


class Invalid(StoreError):
    """The input itself is wrong (a bad role, a malformed filter, options that exclude each other)."""


# Exit codes follow the BSD sysexits spirit but stay small: 1 is "a problem", 2 is Typer's usage error.
_EXIT_CODES: tuple[tuple[type[StoreError], int], ...] = ((NotFound, 3), (Conflict, 4), (Invalid, 2))
_HTTP_STATUS: tuple[tuple[type[StoreError], int], ...] = ((NotFound, 404), (Conflict, 409), (Invalid, 422))


def exit_code(exc: StoreError) -> int:
    """The CLI's exit status for a user-facing error (1 when it is none of the three kinds)."""
    return next((code for kind, code in _EXIT_CODES if isinstance(exc, kind)), 1)


def http_status(exc: StoreError) -> int:
    """The HTTP status for a user-facing error (400 when it is none of the three kinds)."""
    return next((code for kind, code in _HTTP_STATUS if isinstance(exc, kind)), 400)


__all__ = ["Conflict", "Invalid", "NotFound", "StoreError", "exit_code", "http_status"]
