"""The errors a user can act on, as a small hierarchy that each front end maps once.

A library function raises the kind of problem it found - :class:`NotFound`, :class:`Conflict` or
:class:`Invalid` - and the front ends translate the kind, never the message: the CLI to an exit code
(:func:`exit_code`), the HTTP API to a status (:func:`http_status`). A plain :class:`StoreError` is a
problem a user can act on that fits none of the three (the CLI prints it without a traceback).
"""

from __future__ import annotations

import errno
import re


class StoreError(RuntimeError):
    """A problem a user can act on; the CLI prints the message without a traceback."""


class NotFound(StoreError):
    """The thing named (a sample, snapshot, run, key, submission) does not exist."""


class Conflict(StoreError):
    """The request clashes with the store's current state: a name taken, an ambiguous id prefix, a lock."""


class Invalid(StoreError):
    """The input itself is wrong (a bad role, a malformed filter, options that exclude each other)."""


class StorageFailed(StoreError):
    """The file system refused a write - disk full, read-only, no permission; the message names the path."""


_STORAGE_ERRNOS = {errno.ENOSPC, errno.EROFS, errno.EACCES, errno.EPERM, errno.EDQUOT}
# DuckDB reports the same refusals as IOException text (``Could not write file "PATH": No space ...``).
_STORAGE_WORDS = ("No space left on device", "Read-only file system", "Permission denied", "Disk quota exceeded")
_QUOTED_PATH = re.compile(r'"(/[^"]+)"')


def storage_failure(exc: BaseException) -> StorageFailed | None:
    """The one-line :class:`StorageFailed` an OS or DuckDB error stands for, or None for anything else.
    Front ends call it on errors they did not expect, so a full disk reads as one line naming the
    file rather than a traceback."""
    if isinstance(exc, StorageFailed):
        return exc
    if isinstance(exc, OSError) and exc.errno in _STORAGE_ERRNOS:
        return StorageFailed(f"cannot write {exc.filename or 'a file'}: {exc.strerror}")
    text = str(exc)
    words = next((w for w in _STORAGE_WORDS if w in text), None)
    if words is None:
        return None
    path = _QUOTED_PATH.search(text)
    return StorageFailed(f"cannot write {path.group(1) if path else 'the store'}: {words}")


# The CLI's contract since its first release: 2 means "you can fix this" (bad input, a missing or
# clashing thing - the message says which), 1 means Triforge itself failed. Scripts rely on it, so the
# kinds share 2; the HTTP API, where clients branch on the kind, tells them apart.
USER_ERROR_EXIT = 2
_HTTP_STATUS: tuple[tuple[type[StoreError], int], ...] = ((NotFound, 404), (Conflict, 409), (Invalid, 422))


def exit_code(exc: BaseException) -> int:
    """The CLI's exit status: 2 for any error a user can act on, 1 for anything else."""
    return USER_ERROR_EXIT if isinstance(exc, StoreError) else 1


def http_status(exc: StoreError) -> int:
    """The HTTP status for a user-facing error (400 when it is none of the three kinds)."""
    return next((code for kind, code in _HTTP_STATUS if isinstance(exc, kind)), 400)


__all__ = [
    "USER_ERROR_EXIT",
    "Conflict",
    "Invalid",
    "NotFound",
    "StorageFailed",
    "StoreError",
    "exit_code",
    "http_status",
    "storage_failure",
]
