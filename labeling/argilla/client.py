"""Connecting to Argilla with the stack's owner credentials (or ``ARGILLA_API_URL``/``ARGILLA_API_KEY``)."""

from __future__ import annotations

import os
from typing import Any

from labeling.argilla.stack import LabelingStack


def connect(stack: LabelingStack | None = None) -> Any:
    """An ``argilla.Argilla`` client. The SDK is imported here, after its API key is in the environment."""
    url, key = os.environ.get("ARGILLA_API_URL"), os.environ.get("ARGILLA_API_KEY")
    if not (url and key):
        creds = (stack or LabelingStack()).credentials()
        url, key = creds.api_url, creds.api_key
        os.environ["ARGILLA_API_KEY"] = key
    os.environ.setdefault("TQDM_DISABLE", "1")  # the SDK's own bars would fight the CLI's Rich progress
    import argilla as rg

    return rg.Argilla(api_url=url, api_key=key, timeout=120)
