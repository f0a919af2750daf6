"""Request bodies parsed as strict JSON, so hostile bytes get a 422 with a reason and never a 500.

FastAPI parses JSON bodies with Python's ``json``, which accepts ``NaN``, ``1e999``, duplicate keys
and lone surrogates (``"\\ud800"``); the last one then breaks the 422 answer itself (its ``input``
cannot be encoded), which turned a bad request into a 500 and a dropped connection. Every router of
the service uses :class:`StrictJSONRoute`, whose request parses with :func:`schemas.json_input.loads_strict`
and reports a refusal the way FastAPI reports malformed JSON - a ``json_invalid`` 422 - with the reason.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute

from schemas.json_input import JSONInputError, loads_strict


class StrictJSONRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            body = await self.body()
            try:
                self._json = loads_strict(body)
            except JSONInputError as exc:
                # FastAPI turns this into its own 422 (type json_invalid, the message in ctx.error).
                raise json.JSONDecodeError(exc.message, body.decode("utf-8", "replace"), exc.position) from None
        return self._json


class StrictJSONRoute(APIRoute):
    """An APIRoute whose handler sees a :class:`StrictJSONRequest`."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def strict(request: Request) -> Response:
            return await handler(StrictJSONRequest(request.scope, request.receive))

        return strict


def encodable(value: Any) -> Any:
    """``value`` with every string made encodable as UTF-8 (lone surrogates backslash-escaped) and
    every non-finite float as text: what an error answer may safely echo."""
    if isinstance(value, str):
        return value.encode("utf-8", "backslashreplace").decode("utf-8")
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {encodable(k): encodable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [encodable(v) for v in value]
    return value


__all__ = ["StrictJSONRequest", "StrictJSONRoute", "encodable"]
