"""Connecting to Argilla: a server given by URL and API key, or the local stack's owner credentials.

Only entry points read ``ARGILLA_API_URL``/``ARGILLA_API_KEY`` (:meth:`ArgillaTarget.from_environ`, called
by the CLI's commands) and hand them to :func:`connect`. ``import argilla`` itself wants
``ARGILLA_API_KEY`` in the environment before it is imported, so :func:`connect` puts the key it was
given there - it writes the variable, it never decides anything by reading it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from curation.errors import Invalid
from labeling.argilla.stack import LabelingStack

URL_ENV, KEY_ENV = "ARGILLA_API_URL", "ARGILLA_API_KEY"


@dataclass(frozen=True)
class ArgillaTarget:
    """Another Argilla server (the compose stack's), named by its URL and an owner's API key."""

    url: str
    api_key: str

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> ArgillaTarget | None:
        """``ARGILLA_API_URL`` and ``ARGILLA_API_KEY`` when both are set; for entry points only."""
        env = os.environ if environ is None else environ
        url, key = env.get(URL_ENV), env.get(KEY_ENV)
        return cls(url, key) if url and key else None


def connect(stack: LabelingStack | None = None, *, target: ArgillaTarget | None = None) -> Any:
    """An ``argilla.Argilla`` client for ``target``, or else the local stack's (``stack``, default the
    workspace's). Nothing here reads the environment: entry points pass :meth:`ArgillaTarget.from_environ`."""
    if target is None:
        if stack is None:
            raise Invalid("no Argilla server named and no labeling stack to use (give a target or a stack)")
        creds = stack.credentials()
        target = ArgillaTarget(creds.api_url, creds.api_key)
    os.environ[KEY_ENV] = target.api_key  # the SDK reads it at import time
    os.environ.setdefault("TQDM_DISABLE", "1")  # the SDK's own bars would fight the CLI's Rich progress
    import argilla as rg

    return rg.Argilla(api_url=target.url, api_key=target.api_key, timeout=120)


def connector(home: Path, target: ArgillaTarget | None = None) -> Callable[[], Any]:
    """How to reach Argilla later (a service connects when it starts listening): ``target`` when an entry
    point named one, else the workspace's own labeling stack."""
    return lambda: connect(LabelingStack(home), target=target)


__all__ = ["ArgillaTarget", "connect", "connector"]
