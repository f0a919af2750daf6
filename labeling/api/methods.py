"""405 with the right ``Allow`` header, and OPTIONS answered from the routes.

Starlette answers a method no route takes with the methods of the *first* route whose path
matched, so ``OPTIONS /v1/snapshots`` said ``Allow: GET`` although POST is served there too; and
``GET /v1/submissions/batch`` reached the ``/v1/submissions/{submission_id}`` route (a 422 for the
id) instead of a 405 for the batch resource. This middleware answers from a table of every route's
path and methods: a literal path is its own resource (as in OpenAPI, it beats a template).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable

from starlette.routing import compile_path
from starlette.types import ASGIApp, Receive, Scope, Send

try:  # FastAPI >= 0.13x keeps included routers nested; this walks them
    from fastapi.routing import iter_route_contexts
except ImportError:  # pragma: no cover - older FastAPI flattens included routes
    iter_route_contexts = None


def _paths_and_methods(routes: Iterable[object]) -> list[tuple[str, set[str]]]:
    found: list[tuple[str, set[str]]] = []
    contexts = iter_route_contexts(list(routes)) if iter_route_contexts else routes
    for context in contexts:
        route = getattr(context, "original_route", context)
        path = getattr(context, "path", None) or getattr(route, "path", None)
        methods = getattr(route, "methods", None)
        if path and methods:
            found.append((path, set(methods)))
    return found


class _Table:
    def __init__(self, routes: Iterable[object]) -> None:
        self.entries: list[tuple[re.Pattern[str], bool, set[str]]] = []
        for path, methods in _paths_and_methods(routes):
            regex, _, convertors = compile_path(path)
            self.entries.append((regex, not convertors, methods))

    def methods_for(self, path: str) -> set[str]:
        matching = [(literal, methods) for regex, literal, methods in self.entries if regex.match(path)]
        literal = [methods for is_literal, methods in matching if is_literal]
        return set().union(*(literal or [methods for _, methods in matching]))


class MethodNotAllowed:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.table: _Table | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self.table is None:  # routes are all in place by the first request
            self.table = _Table(scope["app"].routes)
        allowed = self.table.methods_for(scope["path"])
        if not allowed or scope["method"] in allowed:  # unknown path (the router's 404), or served
            await self.app(scope, receive, send)
            return
        allow = ", ".join(sorted(allowed | {"OPTIONS"}))
        if scope["method"] == "OPTIONS":
            await send({"type": "http.response.start", "status": 204, "headers": [(b"allow", allow.encode())]})
            await send({"type": "http.response.body", "body": b""})
            return
        body = json.dumps({"detail": "Method Not Allowed"}).encode()
        headers = [
            (b"allow", allow.encode()),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ]
        await send({"type": "http.response.start", "status": 405, "headers": headers})
        await send({"type": "http.response.body", "body": body})
