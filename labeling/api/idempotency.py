"""``Idempotency-Key``: a retried POST gets the first answer back instead of writing twice.

A client whose connection drops after sending cannot tell whether its submission landed. With a key
it just sends the same request again: if the first one committed, the stored answer comes back
(same status, same body, ``Idempotent-Replayed: true``) and nothing is written; if it did not, the
request runs as if for the first time. The same key with a different body is a client bug and gets
409 rather than a silent replay of something else.

Keys are scoped per API key (two contributors cannot collide or read each other's answers). A record
is a row of ``idempotency_records`` written *inside the transaction of the writes it answers*, so a
crash leaves both or neither - never a stored submission whose key a retry would not recognise, nor
a remembered answer for writes that were rolled back. Only answers that wrote something are
remembered: a 4xx wrote nothing, so its retry simply runs again.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Header
from fastapi.responses import JSONResponse

from curation.errors import Conflict
from curation.resources.submissions import StoredAnswer, Submissions

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
# Printable ASCII without spaces: UUIDs, ULIDs and any token a client generates fit; nothing a proxy mangles.
PATTERN = r"^[!-~]+$"
MAX_LENGTH = 200

IdempotencyKeyHeader = Annotated[
    str | None,
    Header(
        alias=HEADER,
        min_length=1,
        max_length=MAX_LENGTH,
        pattern=PATTERN,
        description="A unique token per logical request (e.g. a UUID). A retry with the same key and body gets "
        "the first answer and writes nothing; the same key with another body gets 409. Scoped to your API key.",
    ),
]

# Declared on the 2xx answers of every route that takes the header.
REPLAYED = {
    REPLAYED_HEADER: {
        "description": "Present (true) when this is the stored answer to an earlier request with the same "
        "Idempotency-Key",
        "schema": {"type": "string", "enum": ["true"]},
    }
}


class IdempotencyConflict(Conflict):
    """The key was used before for a different request; answered 409 like any other conflict."""


@dataclass(frozen=True)
class IdempotentRequest:
    """What a key stands for: the operation and a fingerprint of its body."""

    key: str
    operation: str
    fingerprint: str

    @classmethod
    def of(cls, key: str | None, operation: str, body: bytes) -> IdempotentRequest | None:
        if key is None:
            return None
        digest = hashlib.sha256(operation.encode() + b"\n" + body).hexdigest()
        return cls(key=key, operation=operation, fingerprint=digest)

    @classmethod
    def of_json(cls, key: str | None, operation: str, value: Any) -> IdempotentRequest | None:
        """For a JSON body: fingerprinted by its parsed value, so key order and spacing do not matter."""
        canonical = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return cls.of(key, operation, canonical.encode())


@dataclass(frozen=True)
class Answer:
    """An HTTP answer that can be stored and replayed byte for byte."""

    status: int
    body: Any
    location: str | None = None
    replayed: bool = False

    def response(self) -> JSONResponse:
        headers = {"Location": self.location} if self.location else {}
        if self.replayed:
            headers[REPLAYED_HEADER] = "true"
        return JSONResponse(self.body, status_code=self.status, headers=headers)


def previous_answer(submissions: Submissions, key_id: str, request: IdempotentRequest) -> Answer | None:
    """The stored answer to this key, None if there is none; raises ``IdempotencyConflict`` when the
    key was used for another operation or body. Call under the service lock, before the write."""
    stored = submissions.answer_for(key_id, request.key)
    if stored is None:
        return None
    if stored.operation != request.operation:
        raise IdempotencyConflict(
            f"Idempotency-Key {request.key!r} was already used for {stored.operation}; use a new key for each request"
        )
    if stored.fingerprint != request.fingerprint:
        raise IdempotencyConflict(
            f"Idempotency-Key {request.key!r} was already used with a different body; a retry must send the "
            "same body, a new request needs a new key"
        )
    return Answer(status=stored.status, body=stored.body, location=stored.location, replayed=True)


def remember(submissions: Submissions, key_id: str, request: IdempotentRequest, answer: Answer) -> None:
    """Store the answer; call inside the transaction of the writes it reports."""
    stored = StoredAnswer(request.operation, request.fingerprint, answer.status, answer.body, answer.location)
    submissions.remember_answer(key_id, request.key, stored)
