"""``triforge serve-model``: a trained adapter (or base model) behind an OpenAI-compatible API.

Only what chat tools actually call: ``GET /v1/models`` and non-streaming ``POST /v1/chat/completions``
with ``max_tokens``/``max_completion_tokens``, ``temperature``, ``top_p``, ``seed`` and ``stop``; usage
is counted in real tokens. It listens on loopback by default, and ``--api-key`` makes it demand
``Authorization: Bearer KEY`` - so the teacher proposer, the ``openai`` client and any OpenAI tool can
talk to a bootstrapped model exactly as they would to a hosted one.
"""

from __future__ import annotations

import secrets
import time
import uuid
from typing import Any, Literal

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from trainer.generation import LoadedModel

MAX_TOKENS_CAP = 2048


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="ignore")

    role: Literal["system", "user", "assistant"]
    content: str = Field(max_length=64_000)


class ChatRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")  # OpenAI clients send fields a local model has no use for

    model: str
    messages: list[ChatMessage] = Field(min_length=1, max_length=64)
    max_tokens: int | None = Field(None, ge=1, le=MAX_TOKENS_CAP)
    max_completion_tokens: int | None = Field(None, ge=1, le=MAX_TOKENS_CAP)
    temperature: float = Field(0.0, ge=0.0, le=2.0)
    top_p: float = Field(1.0, gt=0.0, le=1.0)
    seed: int | None = None
    n: int = Field(1, ge=1, le=1)
    stream: bool = False
    stop: str | list[str] | None = None


def _truncate_at_stop(text: str, stop: str | list[str] | None) -> tuple[str, bool]:
    stops = [stop] if isinstance(stop, str) else (stop or [])
    cut = min((i for s in stops if s and (i := text.find(s)) >= 0), default=-1)
    return (text[:cut], True) if cut >= 0 else (text, False)


def create_model_app(loaded: LoadedModel, *, api_key: str | None = None, default_max_tokens: int = 512) -> FastAPI:
    app = FastAPI(title=f"triforge serve-model: {loaded.name}", version="1")
    created = int(time.time())

    def authorize(request: Request) -> None:
        if api_key is None:
            return
        given = request.headers.get("authorization", "")
        if not secrets.compare_digest(given.encode(), f"Bearer {api_key}".encode()):
            raise HTTPException(401, {"message": "invalid API key", "type": "invalid_request_error"})

    @app.exception_handler(HTTPException)
    async def openai_errors(request: Request, exc: HTTPException) -> JSONResponse:  # the shape openai clients parse
        detail = exc.detail if isinstance(exc.detail, dict) else {"message": str(exc.detail)}
        return JSONResponse({"error": {"type": "invalid_request_error", **detail}}, status_code=exc.status_code)

    @app.get("/v1/models", dependencies=[Depends(authorize)])
    def models() -> dict[str, Any]:
        return {
            "object": "list",
            "data": [{"id": loaded.name, "object": "model", "created": created, "owned_by": "triforge"}],
        }

    @app.post("/v1/chat/completions", dependencies=[Depends(authorize)])
    def chat_completions(body: ChatRequest) -> dict[str, Any]:
        if body.stream:
            raise HTTPException(400, {"message": "stream=true is not supported by this server", "param": "stream"})
        if body.model not in (loaded.name, "default"):
            raise HTTPException(404, {"message": f"model {body.model!r} not served; this server has {loaded.name!r}"})
        limit = body.max_completion_tokens or body.max_tokens or default_max_tokens
        reply = loaded.chat(
            [m.model_dump() for m in body.messages],
            max_new_tokens=limit,
            temperature=body.temperature,
            top_p=body.top_p,
            seed=body.seed,
        )
        text, stopped = _truncate_at_stop(reply.text, body.stop)
        return {
            "id": f"chatcmpl-{uuid.uuid4().hex}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": loaded.name,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": text},
                    "finish_reason": "stop" if stopped else reply.finish_reason,
                }
            ],
            "usage": {
                "prompt_tokens": reply.prompt_tokens,
                "completion_tokens": reply.completion_tokens,
                "total_tokens": reply.prompt_tokens + reply.completion_tokens,
            },
        }

    return app
