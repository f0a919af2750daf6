"""Curators: dedup runs and their reports, and contamination checks of eval cases."""

from dataclasses import asdict
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Request, Response
from fastapi.responses import PlainTextResponse

from curation.contamination import PromptCase, check_cases
from curation.dedup.report import render_report
from labeling.api.curator_models import ContaminationIn, ContaminationOut, DedupRunOut
from labeling.api.deps import Curator, service
from labeling.api.errors import AUTHENTICATED, WITH_BODY, responses
from labeling.api.patterns import DEDUP_RUN
from labeling.api.strict_json import StrictJSONRoute

router = APIRouter(tags=["reports"], route_class=StrictJSONRoute)

REQUEST_SOURCE = "request"  # what a report names as the eval file for cases sent in the body
_MEDIA = {"html": "text/html", "md": "text/markdown", "json": "application/json"}


@router.get("/v1/dedup/runs", response_model=list[DedupRunOut], responses=responses(*AUTHENTICATED))
def dedup_runs(request: Request, _: Curator) -> Any:
    svc = service(request)
    with svc.lock:
        return [asdict(run) for run in svc.workspace.dedup_runs.list()]


@router.get(
    "/v1/dedup/runs/{run_id}/report",
    response_class=Response,
    responses={
        200: {
            "content": {m: {"schema": {"type": "object" if f == "json" else "string"}} for f, m in _MEDIA.items()},
            "description": "The report in the format asked for: a JSON object, an HTML page or Markdown",
        },
        **responses(*AUTHENTICATED, 404, 409),
    },
)
def dedup_report(
    run_id: Annotated[str, Path(pattern=DEDUP_RUN, description="A run id, a prefix of one, or latest")],
    request: Request,
    _: Curator,
    format: Literal["html", "md", "json"] = "json",
) -> Response:

    svc = service(request)
    with svc.lock:
        text = render_report(svc.workspace, run_id, format)
    return PlainTextResponse(text, media_type=_MEDIA[format])


@router.post(
    "/v1/contamination",
    response_model=ContaminationOut,
    summary="Which eval cases a snapshot's training prompts contain (exact or near)",
    responses=responses(*AUTHENTICATED, 404, 409, *WITH_BODY),
)
def contamination(body: ContaminationIn, request: Request, _: Curator) -> Any:
    # The cases are checked as they arrived: no file is written, so no server path can reach an answer.
    cases = [PromptCase(REQUEST_SOURCE, case.id, case.prompt) for case in body.evals]
    svc = service(request)
    with svc.lock:
        report = check_cases(svc.workspace, body.snapshot, cases, [REQUEST_SOURCE], threshold=body.threshold)
    return report.as_dict()
