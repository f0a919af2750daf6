"""Limits for untrusted contributors. Every one is a setting so an operator can tighten it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ServiceSettings:
    max_body_bytes: int = 512 * 1024
    max_turns: int = 12
    max_chars_per_turn: int = 20_000
    max_batch: int = 100
    requests_per_minute: int = 60
    burst: int = 20
    # Judging untrusted code (labeling.api.judging): wall-clock seconds Asar may spend on one submission,
    # worker threads that judge, and each key's budget of judging seconds (burst, refilled per minute).
    assembler_timeout: float = 2.0
    judge_workers: int = 4
    assembler_seconds_burst: float = 10.0
    assembler_seconds_per_minute: float = 10.0
    # Argilla webhook (record.completed): the URL Argilla posts to; None leaves the route disabled (404).
    argilla_webhook_url: str | None = None
    review_rule: str = "unanimous"
    review_min_submitted: int = 1
    # Where CLI writers reach this service while it holds the store: written to $TRIFORGE_HOME/service.json
    # while it runs (``triforge serve`` sets it); None writes nothing (tests, embedded apps).
    service_url: str | None = None
