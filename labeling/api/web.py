"""A small server-rendered page where a contributor pastes a prompt and answer (or a quest and its
implementation), submits with their key, and reads the validation report. Plain HTML: no JS build,
nothing loaded from elsewhere; the key is a form field, never stored in a cookie."""

from __future__ import annotations

import html
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse
from pydantic import ValidationError

from curation.store import StoreError
from labeling.api.keys import authenticate
from labeling.api.limits import check_turn_limits
from labeling.api.models import SubmissionIn, SubmissionOut
from schemas.sample import Kind

router = APIRouter(include_in_schema=False)

_STYLE = """
body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}
label{display:block;margin-top:.8rem;font-weight:600}textarea,input,select{width:100%;font-family:monospace}
textarea{height:12rem}button{margin-top:1rem;padding:.5rem 1.5rem;font-size:1rem}
.banner{padding:1rem;border-radius:6px;font-size:1.3rem;font-weight:700;color:#fff}
.valid{background:#2e8b57}.invalid{background:#c0392b}.duplicate{background:#d68910}
table{border-collapse:collapse;width:100%;margin-top:1rem}td,th{border:1px solid #ccc;padding:.3rem;text-align:left;
vertical-align:top}.error{color:#c0392b}.warning{color:#b9770e}.info{color:#777}
"""


def _page(title: str, body: str) -> HTMLResponse:
    return HTMLResponse(
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"<style>{_STYLE}</style></head><body>{body}</body></html>"
    )


def _form(values: dict[str, str] | None = None) -> str:
    v = {k: html.escape(x) for k, x in (values or {}).items()}
    options = "".join(
        f"<option value='{k.value}'{' selected' if v.get('kind') == k.value else ''}>{k.value}</option>" for k in Kind
    )
    return f"""<form method="post" action="/submit">
<label>API key<input type="password" name="api_key" required></label>
<label>Kind<select name="kind">{options}</select></label>
<label>Category (e.g. stack_imbalance)<input name="category" value="{v.get("category", "")}"></label>
<label>Prompt (or quest design)<textarea name="prompt" required>{v.get("prompt", "")}</textarea></label>
<label>Answer (or implementation)<textarea name="answer" required>{v.get("answer", "")}</textarea></label>
<button type="submit">Submit and validate</button></form>"""


@router.get("/", response_class=HTMLResponse)
@router.get("/submit", response_class=HTMLResponse)
def submit_page() -> HTMLResponse:
    return _page(
        "Submit to Triforge",
        "<h1>Submit a sample</h1><p>Debugging dialogues answer diagnosis-first: "
        "<b>**Bug: type**</b>, a diagnosis, <b>**What's happening:**</b> with numbered steps, "
        "<b>**Fix:**</b> with code that assembles.</p>" + _form(),
    )


def _report(result: SubmissionOut) -> str:
    if result.duplicate_of is not None:
        css, headline = (
            "duplicate",
            f"Duplicate of {result.duplicate_of.id[:12]} (similarity {result.duplicate_of.similarity:.2f})",
        )
    elif result.valid:
        css, headline = "valid", "Valid: queued for expert review"
    else:
        css, headline = "invalid", "Needs work: see the issues below"
    rows = []
    for v in result.validation:
        for issue in v.issues or []:
            where = html.escape(issue.location.describe()) if issue.location else ""
            rows.append(
                f"<tr><td>{html.escape(v.validator)}</td><td class='{issue.severity}'>{issue.severity}</td>"
                f"<td><code>{html.escape(issue.code)}</code></td><td>{where}</td>"
                f"<td>{html.escape(issue.message)}</td></tr>"
            )
    summary = "".join(
        f"<li>{html.escape(v.validator)}: {'pass' if v.passed else 'fail'} ({v.score:.2f})</li>"
        for v in result.validation
    )
    table = (
        (
            "<table><tr><th>validator</th><th>severity</th><th>code</th><th>where</th><th>message</th></tr>"
            + "".join(rows)
            + "</table>"
        )
        if rows
        else "<p>No issues.</p>"
    )
    return (
        f"<div class='banner {css}' id='verdict'>{html.escape(headline)}</div>"
        f"<p>Submission <code>{result.id}</code>, sample <code>{result.sample_id[:12]}</code>, "
        f"status <b>{result.status}</b></p><ul>{summary}</ul>{table}"
    )


@router.post("/submit", response_class=HTMLResponse)
def submit_form(
    request: Request,
    api_key: Annotated[str, Form(max_length=200)],
    prompt: Annotated[str, Form()],
    answer: Annotated[str, Form()],
    kind: Annotated[str, Form()] = Kind.debug_dialogue.value,
    category: Annotated[str, Form(max_length=64)] = "",
) -> HTMLResponse:
    values = {"prompt": prompt, "answer": answer, "kind": kind, "category": category}
    svc = request.app.state.service
    with svc.lock:
        key = authenticate(svc.store, api_key)
    if key is None:
        return HTMLResponse(
            _page("Unknown key", "<div class='banner invalid'>Unknown or revoked API key</div>" + _form(values)).body,
            status_code=401,
        )
    wait = request.app.state.limiter.take(key.id)
    if wait > 0:
        return HTMLResponse(
            _page(
                "Slow down", f"<div class='banner invalid'>Rate limit: retry in {int(wait) + 1}s</div>" + _form(values)
            ).body,
            status_code=429,
            headers={"Retry-After": str(int(wait) + 1)},
        )
    try:
        optional = {"category": category} if category else {}
        payload = SubmissionIn(kind=kind, prompt=prompt, answer=answer, **optional)
        check_turn_limits(payload, request.app.state.settings, ("form",))
    except (ValidationError, RequestValidationError) as exc:
        problems = "".join(
            f"<li>{html.escape('.'.join(str(p) for p in e['loc']))}: {html.escape(e['msg'])}</li>" for e in exc.errors()
        )
        return HTMLResponse(
            _page(
                "Fix the form",
                f"<div class='banner invalid'>The form has problems</div><ul>{problems}</ul>" + _form(values),
            ).body,
            status_code=422,
        )
    try:
        result = SubmissionOut.model_validate(svc.submit(key, payload).body)
    except StoreError as exc:
        return HTMLResponse(_page("Error", f"<p>{html.escape(str(exc))}</p>").body, status_code=400)
    return _page(
        "Validation report", "<h1>Validation report</h1>" + _report(result) + "<h2>Submit another</h2>" + _form(values)
    )
