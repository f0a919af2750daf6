"""The FastAPI app: resources for contributors (submissions), curators (samples, decisions,
snapshots, reports) and admins (keys), plus a server-rendered submission page.

The OpenAPI document is the contract and is generated from the code: every route declares every
status it returns with its error body (``labeling.api.errors``), request schemas state the limits
and patterns the handlers enforce, response models carry zoned RFC 3339 times, and a 405 names all
the methods a path serves. Errors follow FastAPI's shapes: 422 ``{"detail": [{"loc", "msg",
"type"}]}`` for a request that does not fit the schema or the limits, 401 without a valid key, 403
for the wrong role, 404 for unknown ids, 409 for conflicts with the store (a taken name, a filter
matching nothing), 413 for oversized bodies, 429 with ``Retry-After`` when a key is over its rate.
Content problems are not errors: a submission is stored and its validator issues come back in the
body, so a contributor can fix them at once.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from curation.workspace import Workspace
from labeling.api.deps import API_KEY_HEADER
from labeling.api.discovery import remove_service_file, write_service_file
from labeling.api.errors import install_handlers
from labeling.api.limits import BodySizeLimit
from labeling.api.listener import listen_to_argilla
from labeling.api.methods import MethodNotAllowed
from labeling.api.ratelimit import RateLimiter
from labeling.api.routes import health, keys, reports, samples, snapshots, store, submissions
from labeling.api.service import SubmissionService
from labeling.api.settings import ServiceSettings
from labeling.api.web import router as web_router
from labeling.argilla.client import ArgillaTarget, connector
from labeling.argilla.webhooks import router as argilla_router

__all__ = ["API_KEY_HEADER", "create_app", "create_app_from_environ"]


def create_app(
    workspace: Workspace | Path,
    settings: ServiceSettings | None = None,
    *,
    argilla: Callable[[], Any] | None = None,
) -> FastAPI:
    """The app over ``workspace`` (or the workspace at that home folder). Its store is opened when the
    app starts (the lifespan), not here, so building an app - for its OpenAPI document, say - locks nothing.
    ``argilla`` makes the Argilla client the webhook listener uses when ``settings`` enable it (default:
    the workspace's own labeling stack; the entry point passes another server's URL and key)."""
    settings = settings or ServiceSettings()
    ws = workspace if isinstance(workspace, Workspace) else Workspace(workspace)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = getattr(app.state, "service", None) is None  # a caller may have opened it already
        if owned:
            app.state.service = SubmissionService(ws, settings)
        stop_listening = (
            listen_to_argilla(app, settings, argilla or connector(ws.home)) if settings.argilla_webhook_url else None
        )
        if settings.service_url:  # after the store is ours: a CLI writer that finds it locked finds us
            write_service_file(ws.home, settings.service_url)
        try:
            yield
        finally:
            if settings.service_url:
                remove_service_file(ws.home)
            if stop_listening:
                stop_listening()
            if owned:
                app.state.service.close()
                app.state.service = None

    app = FastAPI(
        title="Triforge community API",
        version="1",
        summary="Submit SNES 65816 debugging dialogues and quest implementations; get validation at once.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.limiter = RateLimiter(settings.requests_per_minute, settings.burst)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(MethodNotAllowed)
    install_handlers(app)

    app.include_router(web_router)
    if settings.argilla_webhook_url:  # only served when enabled, so the document never lists a dead route
        app.include_router(argilla_router)
    app.include_router(health.router)
    app.include_router(submissions.router(settings))
    app.include_router(samples.router(settings))
    app.include_router(snapshots.router)
    app.include_router(reports.router)
    app.include_router(keys.router)
    app.include_router(store.router)
    return app


def create_app_from_environ(
    settings: ServiceSettings | None = None, environ: Mapping[str, str] | None = None
) -> FastAPI:
    """An entry point for an ASGI server (``uvicorn --factory labeling.api.app:create_app_from_environ``):
    the workspace is ``$TRIFORGE_HOME``, read here once; nothing below it reads the environment.
    ``triforge serve`` builds its Workspace from ``--home`` itself and calls :func:`create_app`."""
    workspace = Workspace.from_environ(environ)
    return create_app(workspace, settings, argilla=connector(workspace.home, ArgillaTarget.from_environ(environ)))
