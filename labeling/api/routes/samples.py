"""Curators: search and read samples, record status decisions, correct answers.

The two writes are what ``triforge samples mark`` and ``samples correct`` send while the service
holds the store. Built per app: a correction's answer is held to the service's per-turn limit.
"""

import json
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, Request, Response
from fastapi.exceptions import RequestValidationError

from curation.resources.keys import ApiKey
from curation.validators.runner import current_results
from labeling.api.curator_models import (
    CorrectionIn,
    CorrectionOut,
    SampleOut,
    SamplePage,
    StatusChangeIn,
    StatusChangeOut,
    Where,
)
from labeling.api.deps import Curator, service
from labeling.api.errors import AUTHENTICATED, WITH_BODY, responses
from labeling.api.patterns import SAMPLE_ID, WHERE, WHERE_MAX_LENGTH
from labeling.api.settings import ServiceSettings
from labeling.api.strict_json import StrictJSONRoute

SampleId = Annotated[str, Path(pattern=SAMPLE_ID, description="A sample id or a unique prefix (6+ characters)")]


def _actor(key: ApiKey, actor: str | None) -> str:
    """Decisions are recorded under the key's name; an admin key may name the person it acts for
    (the CLI's ``--by``) - a curator key may not speak for someone else."""
    if actor is None or actor == key.name:
        return key.name
    if not key.allows("admin"):
        raise HTTPException(403, "only an admin key may record a decision for someone else (actor)")
    return actor


def router(settings: ServiceSettings) -> APIRouter:
    correction_model = CorrectionIn.for_settings(settings)
    api = APIRouter(tags=["curation"], route_class=StrictJSONRoute)

    @api.get("/v1/samples", response_model=SamplePage, responses=responses(*AUTHENTICATED))
    def samples(
        request: Request,
        _: Curator,
        where: Annotated[
            str | None, Query(max_length=WHERE_MAX_LENGTH, pattern=WHERE, description=Where.description)
        ] = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 50,
        offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0,
    ) -> Any:
        svc = service(request)
        with svc.lock:
            samples = svc.workspace.samples
            return {"total": samples.count(where), "samples": samples.list(where, limit=limit, offset=offset)}

    @api.get("/v1/samples/{sample_id}", response_model=SampleOut, responses=responses(*AUTHENTICATED, 404, 409))
    def sample(sample_id: SampleId, request: Request, _: Curator) -> Any:
        svc = service(request)
        with svc.lock:
            detail = svc.workspace.samples.get(sample_id)
            validations = current_results(svc.workspace, detail.id)
        rev = detail.revision
        return SampleOut(
            id=detail.id,
            status=detail.status,
            kind=rev.kind.value,
            category=rev.category,
            parent_id=rev.parent_id,
            messages=list(rev.messages),
            metadata=rev.metadata,
            provenance=[{**p, "original": _json(p["original"])} for p in detail.provenance],
            history=detail.history,
            snapshots=detail.snapshots,
            children=detail.children,
            validations=validations,
        )

    @api.post(
        "/v1/status-changes",
        status_code=201,
        response_model=StatusChangeOut,
        summary="Record a status decision on samples (all or none): approve, reject, ...",
        responses=responses(*AUTHENTICATED, 404, 409, *WITH_BODY),
    )
    def mark(body: StatusChangeIn, request: Request, key: Curator) -> StatusChangeOut:
        actor = _actor(key, body.actor)
        changed = service(request).mark(body.samples, body.status, actor=actor, reason=body.reason)
        return StatusChangeOut(status=body.status, actor=actor, samples=changed)

    @api.post(
        "/v1/samples/{sample_id}/corrections",
        status_code=201,
        response_model=CorrectionOut,
        summary="Correct a sample: a new revision linked to it, which supersedes it",
        responses={
            201: {"headers": {"Location": {"description": "The new revision", "schema": {"type": "string"}}}},
            **responses(*AUTHENTICATED, 404, 409, *WITH_BODY),
        },
    )
    def correct(
        sample_id: SampleId,
        body: correction_model,
        request: Request,
        response: Response,
        key: Curator,  # type: ignore[valid-type]
    ) -> CorrectionOut:
        if body.answer is not None and len(body.answer) > settings.max_chars_per_turn:
            raise RequestValidationError(
                [{"loc": ["body", "answer"], "type": "too_long",
                  "msg": f"{len(body.answer)} characters; at most {settings.max_chars_per_turn} per turn"}]
            )  # fmt: skip
        actor = _actor(key, body.actor)
        new_id, parent_id = service(request).correct(sample_id, actor=actor, answer=body.answer, category=body.category)
        response.headers["Location"] = f"/v1/samples/{new_id}"
        return CorrectionOut(id=new_id, parent_id=parent_id, status="proposed")

    return api


def _json(text: Any) -> Any:
    if not isinstance(text, str):
        return text
    try:
        return json.loads(text)
    except ValueError:
        return text
