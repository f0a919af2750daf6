"""Chat clients a teacher batch can use: one ``complete(messages)`` shape over three transports.

- ``OpenAICompatible``: the ``openai`` client with any ``base_url`` (OpenAI, vLLM, Ollama, llama.cpp,
  or ``triforge serve-model`` serving a bootstrapped adapter).
- ``Gemini``: the ``google-genai`` client; ``base_url`` points it at a proxy or a local stand-in.
- ``InProcess``: a model or adapter loaded here, for bootstrap runs without a server.

Clients never retry themselves (the batch does, with backoff, and counts every attempt); they raise
``TransientError`` for what is worth retrying (429, 5xx, timeouts, refused connections) and
``FatalError`` for what is not (bad key, unknown model, bad request).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Protocol

import httpx


@dataclass
class Reply:
    text: str
    prompt_tokens: int
    completion_tokens: int


class TransientError(RuntimeError):
    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class FatalError(RuntimeError):
    """Retrying cannot help and no request will succeed (bad key, unknown model): the batch stops."""


class TaskError(RuntimeError):
    """The endpoint refused this one request (too long, filtered, malformed): the task fails, the batch goes on."""


# 400/413/422 concern one request; 401/403/404 concern every request.
TASK_STATUSES = (400, 413, 422)


class ChatClient(Protocol):
    provider: str
    model: str

    def complete(
        self, messages: list[dict[str, str]], *, max_tokens: int, temperature: float, seed: int | None
    ) -> Reply: ...


def _retry_after(headers: Any) -> float | None:
    try:
        value = headers.get("retry-after") if headers is not None else None
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None


class OpenAICompatible:
    provider = "openai"

    def __init__(
        self, model: str, *, base_url: str | None, api_key: str | None, timeout: float = 120.0, json_mode: bool = True
    ) -> None:
        import openai

        self.model = model
        self.json_mode = json_mode
        self._openai = openai
        # A local server needs no key, but the client insists on one being set.
        self._client = openai.OpenAI(
            base_url=base_url,
            api_key=api_key or os.environ.get("OPENAI_API_KEY") or "local",
            max_retries=0,
            timeout=timeout,
        )

    def complete(self, messages, *, max_tokens, temperature, seed):  # type: ignore[no-untyped-def]
        openai = self._openai
        extra = {"response_format": {"type": "json_object"}} if self.json_mode else {}
        try:
            response = self._client.chat.completions.create(
                model=self.model, messages=messages, max_tokens=max_tokens, temperature=temperature, seed=seed, **extra
            )
        except (openai.RateLimitError, openai.InternalServerError) as exc:
            raise TransientError(f"{type(exc).__name__}: {exc}", _retry_after(exc.response.headers)) from exc
        except (openai.APITimeoutError, openai.APIConnectionError) as exc:
            raise TransientError(f"{type(exc).__name__}: {exc}") from exc
        except openai.APIStatusError as exc:
            if exc.status_code in (408, 409) or exc.status_code >= 500:
                raise TransientError(f"HTTP {exc.status_code}: {exc}", _retry_after(exc.response.headers)) from exc
            if exc.status_code in TASK_STATUSES:
                raise TaskError(f"HTTP {exc.status_code}: {exc}") from exc
            raise FatalError(f"HTTP {exc.status_code} from {self.model}: {exc}") from exc
        usage = response.usage
        if not response.choices:
            raise TaskError("the reply has no choices")
        return Reply(
            response.choices[0].message.content or "",
            usage.prompt_tokens if usage else 0,
            usage.completion_tokens if usage else 0,
        )


class Gemini:
    provider = "gemini"

    def __init__(
        self, model: str, *, base_url: str | None, api_key: str | None, timeout: float = 120.0, json_mode: bool = True
    ) -> None:
        from google import genai
        from google.genai import types

        key = api_key or os.environ.get("GEMINI_API_KEY") or os.environ.get("GOOGLE_API_KEY")
        if not key:
            raise FatalError("Gemini needs a key: set GEMINI_API_KEY (or --api-key-env)")
        self.model = model
        self.json_mode = json_mode
        self._types = types
        options = (
            types.HttpOptions(base_url=base_url, timeout=int(timeout * 1000))
            if base_url
            else types.HttpOptions(timeout=int(timeout * 1000))
        )
        self._client = genai.Client(api_key=key, http_options=options)

    def complete(self, messages, *, max_tokens, temperature, seed):  # type: ignore[no-untyped-def]
        from google.genai import errors

        types = self._types
        system = "\n\n".join(m["content"] for m in messages if m["role"] == "system") or None
        contents = [
            types.Content(role="model" if m["role"] == "assistant" else "user", parts=[types.Part(text=m["content"])])
            for m in messages
            if m["role"] != "system"
        ]
        config = types.GenerateContentConfig(
            system_instruction=system,
            temperature=temperature,
            max_output_tokens=max_tokens,
            seed=seed,
            response_mime_type="application/json" if self.json_mode else None,
        )
        try:
            response = self._client.models.generate_content(model=self.model, contents=contents, config=config)
        except errors.APIError as exc:
            if exc.code in (408, 429) or exc.code >= 500:
                raise TransientError(f"HTTP {exc.code}: {exc.message}") from exc
            if exc.code in TASK_STATUSES:
                raise TaskError(f"HTTP {exc.code}: {exc.message}") from exc
            raise FatalError(f"HTTP {exc.code} from {self.model}: {exc.message}") from exc
        except httpx.TransportError as exc:
            raise TransientError(f"{type(exc).__name__}: {exc}") from exc
        usage = response.usage_metadata
        return Reply(
            response.text or "",
            (usage.prompt_token_count or 0) if usage else 0,
            (usage.candidates_token_count or 0) if usage else 0,
        )


class InProcess:
    """A model or adapter loaded in this process (``trainer.generation.load_model``)."""

    provider = "local"

    def __init__(self, loaded: Any) -> None:
        self.loaded = loaded
        # An adapter is named with its training run, so provenance says which round's model proposed.
        run_id = (loaded.manifest or {}).get("run_id")
        self.model = f"{loaded.name}@{run_id[:8]}" if run_id else loaded.name

    def complete(self, messages, *, max_tokens, temperature, seed):  # type: ignore[no-untyped-def]
        reply = self.loaded.chat(messages, max_new_tokens=max_tokens, temperature=temperature, seed=seed)
        return Reply(reply.text, reply.prompt_tokens, reply.completion_tokens)


def make_client(
    provider: str, model: str, *, base_url: str | None = None, api_key_env: str | None = None, json_mode: bool = True
) -> ChatClient:
    api_key = os.environ.get(api_key_env) if api_key_env else None
    if api_key_env and not api_key:
        raise FatalError(f"${api_key_env} is empty")
    if provider == "openai":
        return OpenAICompatible(model, base_url=base_url, api_key=api_key, json_mode=json_mode)
    if provider == "gemini":
        return Gemini(model, base_url=base_url, api_key=api_key, json_mode=json_mode)
    raise FatalError(f"unknown provider {provider!r}: openai (any compatible endpoint) or gemini")
