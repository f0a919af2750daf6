"""Contributors: submit samples (one, or a JSON-lines batch), follow them, see their record.

Both POSTs take an ``Idempotency-Key`` (``labeling.api.idempotency``): a retry after a lost answer
gets the first answer back and writes nothing. A single submission is fingerprinted by its parsed
JSON, a batch by its bytes.

Built per app (``router(settings)``) because the request schema states that service's limits.
Not ``from __future__ import annotations``: FastAPI reads the per-app body type from the signature.
"""

from typing import Any

from fastapi import APIRouter, HTTPException, Path, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from labeling.api.deps import Contributor, service
from labeling.api.errors import AUTHENTICATED, WITH_BODY, responses
from labeling.api.idempotency import REPLAYED, IdempotencyKeyHeader, IdempotentRequest
from labeling.api.limits import check_turn_limits
from labeling.api.models import BatchOut, ContributorOut, SubmissionIn, SubmissionOut
from labeling.api.patterns import SUBMISSION_ID
from labeling.api.service import BatchItem
from labeling.api.settings import ServiceSettings
from labeling.api.strict_json import StrictJSONRoute
from schemas.json_input import JSONInputError, loads_strict

LOCATION = {"Location": {"description": "The submission's URL", "schema": {"type": "string"}}}
SUBMIT = "POST /v1/submissions"
SUBMIT_BATCH = "POST /v1/submissions/batch"


def router(settings: ServiceSettings) -> APIRouter:
    body_model = SubmissionIn.for_settings(settings)
    api = APIRouter(tags=["submissions"], route_class=StrictJSONRoute)

    async def submit(
        payload: body_model,  # type: ignore[valid-type]
        key: Contributor,
        request: Request,
        idempotency_key: IdempotencyKeyHeader = None,
    ) -> Response:
        # Async on purpose: judging waits on the judging pool (labeling.api.judging), not on a
        # request thread, so a key's queued submissions cannot use up the threads other routes need.
        check_turn_limits(payload, settings, ("body",))
        once = IdempotentRequest.of_json(idempotency_key, SUBMIT, payload.model_dump(mode="json"))
        return (await service(request).submit(key, payload, once)).response()

    api.add_api_route(
        "/v1/submissions",
        submit,
        methods=["POST"],
        status_code=201,
        response_model=SubmissionOut,
        summary="Submit one sample; the validation report comes back at once",
        responses={
            200: {
                "model": SubmissionOut,
                "description": "Identical content was already there",
                "headers": {**LOCATION, **REPLAYED},
            },
            201: {"description": "Stored (valid or not: the report says)", "headers": {**LOCATION, **REPLAYED}},
            **responses(*AUTHENTICATED, *WITH_BODY, 409),
        },
    )

    @api.post(
        "/v1/submissions/batch",
        response_model=BatchOut,
        summary="Submit JSON lines; each line's result or errors by line number",
        responses={
            200: {"description": "Every accepted line is stored (one transaction)", "headers": REPLAYED},
            **responses(*AUTHENTICATED, *WITH_BODY, 409),
        },
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    "application/x-ndjson": {
                        # JSON lines have no JSON Schema of their own: the body is described as the sequence
                        # of its lines, each one SubmissionIn object (clients and fuzzers serialise each item
                        # as one line). A line that does not fit comes back with its errors, by line number.
                        "schema": {
                            "type": "array",
                            "minItems": 1,
                            "maxItems": settings.max_batch,
                            "items": {"$ref": "#/components/schemas/SubmissionIn"},
                            "description": f"One SubmissionIn JSON object per line, at most {settings.max_batch} "
                            "lines; blank lines are skipped, a line that does not fit comes back with its errors",
                        }
                    }
                },
            }
        },
    )
    async def submit_batch(
        request: Request, key: Contributor, idempotency_key: IdempotencyKeyHeader = None
    ) -> Response:
        raw = await request.body()
        if not raw:
            raise RequestValidationError([{"loc": ["body"], "msg": "the batch body is empty", "type": "missing"}])
        text = raw.decode("utf-8", errors="replace")
        lines = [(n, line) for n, line in enumerate(text.splitlines(), 1) if line.strip()]
        if len(lines) > settings.max_batch:
            raise HTTPException(413, f"{len(lines)} submissions in one batch; the limit is {settings.max_batch}")
        items: list[BatchItem] = []
        for n, line in lines:
            try:
                payload = SubmissionIn.model_validate(loads_strict(line))
                check_turn_limits(payload, settings, ("line", n))
            except JSONInputError as exc:
                items.append(
                    (n, [{"loc": ["line", n], "msg": f"not valid JSON: {exc.message}", "type": "json_invalid"}])
                )
                continue
            except ValidationError as exc:
                errors = [{"loc": ["line", n, *e["loc"]], "msg": e["msg"], "type": e["type"]} for e in exc.errors()]
                items.append((n, errors))
                continue
            except RequestValidationError as exc:
                items.append((n, list(exc.errors())))
                continue
            items.append((n, payload))
        once = IdempotentRequest.of(idempotency_key, SUBMIT_BATCH, raw)
        # Judged on the judging pool and written in a request thread: never on the event loop.
        return (await service(request).submit_batch(key, items, once)).response()

    @api.get(
        "/v1/submissions/{submission_id}",
        response_model=SubmissionOut,
        summary="A submission's current status and report (yours; curators see all)",
        responses=responses(*AUTHENTICATED, 404),
    )
    def get_submission(
        key: Contributor, request: Request, submission_id: str = Path(pattern=SUBMISSION_ID)
    ) -> SubmissionOut:
        svc = service(request)
        owner = svc.owner(submission_id)
        if owner is None or (owner != key.id and not key.allows("curator")):
            raise HTTPException(404, f"no submission {submission_id}")
        return svc.get(submission_id)

    @api.get(
        "/v1/contributors/me",
        response_model=ContributorOut,
        summary="Your submissions and acceptance rate",
        responses=responses(*AUTHENTICATED),
    )
    def me(key: Contributor, request: Request) -> Any:
        return service(request).contributor(key)

    return api
