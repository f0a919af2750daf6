"""The Argilla webhook listener the service runs when ``--argilla-webhook-url`` is given.

The service holds the store's only write connection, so it is the one to pull the records Argilla
completes: a catch-up pull when it starts, then one per delivery, each under the service's lock.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI

from labeling.api.service import SubmissionService
from labeling.api.settings import ServiceSettings
from labeling.argilla.pull import pull
from labeling.argilla.webhooks import Listener, register


def listen_to_argilla(app: FastAPI, settings: ServiceSettings, argilla: Callable[[], Any]) -> Callable[[], None]:
    """Register the Argilla webhook and pull completed records into the service's own store (it holds
    the only write connection, so a separate listener could not). Returns the function that stops it."""
    svc: SubmissionService = app.state.service
    client = argilla()
    webhook = register(client, settings.argilla_webhook_url)

    def pull_ids(ids: list[str] | None) -> Any:
        with svc.lock:  # a catch-up pull (ids None) holds submissions back while it runs: seconds per 1k
            return pull(svc.workspace, client, rule=settings.review_rule, min_submitted=settings.review_min_submitted,
                        ids=ids)  # fmt: skip

    listener = Listener(webhook.secret, pull_ids, catch_up=True)
    listener.start()
    app.state.argilla_listener = listener

    def stop() -> None:
        listener.close()
        app.state.argilla_listener = None
        webhook.delete()

    return stop


__all__ = ["listen_to_argilla"]
