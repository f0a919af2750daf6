"""Request limits: body size (checked while the body streams in) and turns/characters per sample."""

from __future__ import annotations

import json
from typing import Any

from fastapi.exceptions import RequestValidationError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from labeling.api.models import SubmissionIn
from labeling.api.settings import ServiceSettings


class BodySizeLimit:
    """413 for a body over ``max_bytes``, by Content-Length or while it streams (chunked uploads)."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._reject(send)
            return
        seen = 0
        too_big = False

        async def limited() -> Message:
            # Past the limit the app is told the body ended; whatever it answers is replaced by a
            # 413 (FastAPI turns any error raised while reading a body into a generic 400).
            nonlocal seen, too_big
            if too_big:
                return {"type": "http.request", "body": b"", "more_body": False}
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    too_big = True
                    return {"type": "http.request", "body": b"", "more_body": False}
            return message

        rejected = False

        async def guarded_send(message: Message) -> None:
            nonlocal rejected
            if not too_big:
                await send(message)
            elif not rejected:
                rejected = True
                await self._reject(send)

        await self.app(scope, limited, guarded_send)

    async def _reject(self, send: Send) -> None:
        body = json.dumps({"detail": f"request body over {self.max_bytes} bytes"}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": body})


def check_turn_limits(payload: SubmissionIn, settings: ServiceSettings, loc: tuple[Any, ...]) -> None:
    """422 with the field's path when a sample has too many turns or a turn too many characters."""
    errors = []
    turns = payload.turns()
    if len(turns) > settings.max_turns:
        errors.append(
            {"loc": [*loc, "messages"], "type": "too_long", "msg": f"{len(turns)} turns; at most {settings.max_turns}"}
        )
    fields = (
        (["messages", i, "content"] for i in range(len(turns)))
        if payload.messages is not None
        else iter([f] for f in (["system"] if payload.system else []) + ["prompt", "answer"])
    )
    for path, turn in zip(fields, turns, strict=True):
        if len(turn.content) > settings.max_chars_per_turn:
            errors.append(
                {
                    "loc": [*loc, *path],
                    "type": "too_long",
                    "msg": f"{len(turn.content)} characters; at most {settings.max_chars_per_turn} per turn",
                }
            )
    if errors:
        raise RequestValidationError(errors)
