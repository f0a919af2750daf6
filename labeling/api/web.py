"""A small server-rendered page where a contributor pastes a prompt and answer (or a quest and its
implementation), submits with their key, and reads the validation report. Plain HTML: no JS build,
nothing loaded from elsewhere; the key is a form field, never stored in a cookie. The page is a
Jinja2 template (``templates/submit.html``) with autoescaping on: everything shown is the
contributor's own text or derived from it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

import jinja2
from fastapi import APIRouter, Form, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse
from pydantic import ValidationError

from curation.errors import StoreError, http_status
from labeling.api.judging import JudgingBudgetSpent
from labeling.api.limits import check_turn_limits
from labeling.api.models import SubmissionIn, SubmissionOut
from labeling.api.strict_json import StrictJSONRoute
from schemas.sample import Kind
from schemas.validation import ValidationIssue

router = APIRouter(include_in_schema=False, route_class=StrictJSONRoute)

_TEMPLATES = jinja2.Environment(
    loader=jinja2.PackageLoader("labeling.api", "templates"),
    autoescape=True,  # every value is the contributor's text or derived from it
    undefined=jinja2.StrictUndefined,
)
_KINDS = [k.value for k in Kind]
_EMPTY = {"prompt": "", "answer": "", "kind": "", "category": ""}


@dataclass(frozen=True)
class _Report:
    """What the report part of the page shows about one stored submission."""

    result: SubmissionOut
    css: str
    headline: str
    issues: list[tuple[str, ValidationIssue]]

    @classmethod
    def of(cls, result: SubmissionOut) -> _Report:
        if result.duplicate_of is not None:
            css = "duplicate"
            headline = f"Duplicate of {result.duplicate_of.id[:12]} (similarity {result.duplicate_of.similarity:.2f})"
        elif result.valid:
            css, headline = "valid", "Valid: queued for expert review"
        else:
            css, headline = "invalid", "Needs work: see the issues below"
        issues = [(v.validator, issue) for v in result.validation for issue in v.issues or []]
        return cls(result, css, headline, issues)


def _page(
    title: str,
    *,
    values: dict[str, str] | None = None,
    banner: str | None = None,
    problems: list[tuple[str, str]] | None = None,
    report: _Report | None = None,
    error: str | None = None,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    html = _TEMPLATES.get_template("submit.html").render(
        title=title,
        kinds=_KINDS,
        values={**_EMPTY, **(values or {})},
        banner=banner,
        problems=problems or [],
        report=report,
        error=error,
    )
    return HTMLResponse(html, status_code=status_code, headers=headers)


@router.get("/", response_class=HTMLResponse)
@router.get("/submit", response_class=HTMLResponse)
def submit_page() -> HTMLResponse:
    return _page("Submit to Triforge")


@router.post("/submit", response_class=HTMLResponse)
async def submit_form(
    request: Request,
    api_key: Annotated[str, Form(max_length=200)],
    prompt: Annotated[str, Form()],
    answer: Annotated[str, Form()],
    kind: Annotated[str, Form()] = Kind.debug_dialogue.value,
    category: Annotated[str, Form(max_length=64)] = "",
) -> HTMLResponse:
    values = {"prompt": prompt, "answer": answer, "kind": kind, "category": category}
    svc = request.app.state.service
    key = await run_in_threadpool(svc.authenticate, api_key)
    if key is None:
        return _page("Unknown key", values=values, banner="Unknown or revoked API key", status_code=401)
    wait = request.app.state.limiter.take(key.id)
    if wait > 0:
        retry = str(int(wait) + 1)
        return _page(
            "Slow down", values=values, banner=f"Rate limit: retry in {retry}s", status_code=429,
            headers={"Retry-After": retry},
        )  # fmt: skip
    try:
        optional = {"category": category} if category else {}
        payload = SubmissionIn(kind=kind, prompt=prompt, answer=answer, **optional)
        check_turn_limits(payload, request.app.state.settings, ("form",))
    except (ValidationError, RequestValidationError) as exc:
        problems = [(".".join(str(p) for p in e["loc"]), e["msg"]) for e in exc.errors()]
        return _page("Fix the form", values=values, banner="The form has problems", problems=problems, status_code=422)
    try:
        result = SubmissionOut.model_validate((await svc.submit(key, payload)).body)
    except JudgingBudgetSpent as exc:
        retry = str(int(exc.retry_after) + 1)
        return _page("Slow down", values=values, banner=str(exc), status_code=429, headers={"Retry-After": retry})
    except StoreError as exc:
        return _page("Error", error=str(exc), status_code=http_status(exc))
    return _page("Validation report", values=values, report=_Report.of(result))
