"""Error bodies, the statuses each route declares, and how library errors become HTTP answers.

Every route lists every status it can return (``responses=``) so a client generated from the
OpenAPI document handles them: the shapes are FastAPI's own - ``{"detail": "..."}`` for most errors,
``{"detail": [{"loc", "msg", "type"}]}`` for 422 - and the headers that come with them
(``WWW-Authenticate`` on 401, ``Retry-After`` on 429) are declared too.

Library errors are mapped once, by kind (:mod:`curation.errors`), never by their message: a
``NotFound`` is 404, a ``Conflict`` 409 (an ``Idempotency-Key`` reused for another request is one),
an ``Invalid`` 422, any other ``StoreError`` 400 - the message goes out as the ``detail``.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exception_handlers import request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from curation.errors import StoreError, http_status
from curation.filters import FilterError, compile_filter
from labeling.api.judging import JudgingBudgetSpent
from labeling.api.strict_json import encodable


class ErrorOut(BaseModel):
    detail: str


class FieldError(BaseModel):
    loc: list[str | int]
    msg: str
    type: str


class ValidationErrorOut(BaseModel):
    detail: list[FieldError]


_DESCRIPTIONS = {
    400: "The body could not be parsed (not JSON, not UTF-8), or the request cannot be carried out as given",
    401: "No API key, or an unknown or revoked one",
    403: "The key's role does not allow this",
    404: "No such resource",
    409: "Conflicts with the store's current state (name taken, nothing matches, ambiguous id prefix), or an "
    "Idempotency-Key already used for a different request",
    413: "The body is over the size limit, or a batch over the batch limit",
    422: "The request does not fit the schema or the limits; `loc` is the path of the field",
    429: "This key is over its rate limit, or has spent its budget of assembler seconds",
}
_HEADERS: dict[int, dict[str, Any]] = {
    401: {"WWW-Authenticate": {"description": "The header to send the key in", "schema": {"type": "string"}}},
    429: {"Retry-After": {"description": "Seconds until the key may retry", "schema": {"type": "integer"}}},
}

# What every authenticated route may answer besides its own outcomes, and what any route with a body may.
AUTHENTICATED = (401, 403, 422, 429)
WITH_BODY = (400, 413)


def responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """The ``responses=`` entry for these statuses, each with its model, description and headers."""
    declared: dict[int | str, dict[str, Any]] = {}
    for code in sorted(set(codes)):
        entry: dict[str, Any] = {
            "model": ValidationErrorOut if code == 422 else ErrorOut,
            "description": _DESCRIPTIONS[code],
        }
        if code in _HEADERS:
            entry["headers"] = _HEADERS[code]
        declared[code] = entry
    return declared


def store_error_response(exc: StoreError) -> JSONResponse:
    """The answer to a library error, by its kind (``curation.errors.http_status``): 404 not found, 409
    conflict, 422 invalid input (in the field-error shape every 422 has), 400 for any other."""
    status = http_status(exc)
    if status == 422:
        return JSONResponse({"detail": [{"loc": [], "msg": str(exc), "type": "invalid"}]}, status_code=status)
    return JSONResponse({"detail": str(exc)}, status_code=status)


def _readable(error: dict[str, Any]) -> dict[str, Any]:
    """A pattern mismatch names the field's pattern in the OpenAPI document rather than quoting it (the
    filter's runs to kilobytes); for a filter it says why the API's form differs from the CLI's. A body
    that is not strict JSON says why (``labeling.api.strict_json``)."""
    if error.get("type") == "json_invalid":
        reason = (error.get("ctx") or {}).get("error")
        return {**error, "msg": f"not valid JSON: {reason}" if reason else error.get("msg", "not valid JSON")}
    if error.get("type") != "string_pattern_mismatch":
        return error
    error = {k: v for k, v in error.items() if k != "ctx"}
    error["msg"] = "does not match the pattern the OpenAPI document gives for this field"
    if error.get("loc", [None])[-1] == "where":
        try:
            compile_filter(str(error.get("input", "")))
        except FilterError as exc:
            error["msg"] = f"not a filter: {exc}"
        else:
            error["msg"] = (
                "the API takes comparisons a field's type supports, each optionally negated with not, joined by "
                "and/or - no parentheses (the CLI takes the full language)"
            )
    return error


def install_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        # encodable: an echoed input may hold a lone surrogate or NaN, which would break this answer itself.
        readable = RequestValidationError([encodable(_readable(e)) for e in exc.errors()], body=None)
        return await request_validation_exception_handler(request, readable)

    @app.exception_handler(JudgingBudgetSpent)
    async def budget_spent(_: Request, exc: JudgingBudgetSpent) -> JSONResponse:
        return JSONResponse(
            {"detail": str(exc)}, status_code=429, headers={"Retry-After": str(int(exc.retry_after) + 1)}
        )

    @app.exception_handler(StoreError)
    async def store_error(_: Request, exc: StoreError) -> JSONResponse:
        return store_error_response(exc)

    @app.exception_handler(FilterError)
    async def filter_error(_: Request, exc: FilterError) -> JSONResponse:
        # The published pattern keeps these out; a filter that gets past it is still a 422, not a 500.
        return JSONResponse(
            {"detail": [{"loc": ["query", "where"], "msg": str(exc), "type": "filter"}]}, status_code=422
        )
