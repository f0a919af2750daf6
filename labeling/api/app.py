"""The FastAPI app: resources for contributors (submissions), curators (samples, snapshots,
reports) and admins (keys), plus a server-rendered submission page.

Errors follow FastAPI's shape: 422 ``{"detail": [{"loc": [...], "msg": ..., "type": ...}]}`` for a
request that does not fit the schema or the limits, 401 without a valid key, 403 for the wrong
role, 404 for unknown ids, 413 for oversized bodies, 429 with ``Retry-After`` when a key is over
its rate. Content problems are not errors: a submission is stored and its validator issues come
back in the body, so a contributor can fix them at once.
"""

from __future__ import annotations

import io
import json
import tempfile
import zipfile
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Header, HTTPException, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse
from pydantic import ValidationError

from curation.filters import FilterError
from curation.paths import store_path
from curation.store import StoreError
from labeling.api.keys import ApiKey, authenticate
from labeling.api.limits import BodySizeLimit, check_turn_limits
from labeling.api.models import (
    BatchLine,
    BatchOut,
    ContaminationIn,
    ContributorOut,
    SnapshotIn,
    SubmissionIn,
    SubmissionOut,
)
from labeling.api.ratelimit import RateLimiter
from labeling.api.service import SubmissionService
from labeling.api.settings import ServiceSettings
from labeling.api.web import router as web_router
from labeling.argilla.webhooks import router as argilla_router

API_KEY_HEADER = "X-API-Key"


def create_app(settings: ServiceSettings | None = None, path: Path | None = None) -> FastAPI:
    settings = settings or ServiceSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = getattr(app.state, "service", None) is None  # a caller may have opened it already
        if owned:
            app.state.service = SubmissionService(path or store_path())
        stop_listening = _listen_to_argilla(app, settings) if settings.argilla_webhook_url else None
        try:
            yield
        finally:
            if stop_listening:
                stop_listening()
            if owned:
                app.state.service.close()
                app.state.service = None

    app = FastAPI(
        title="Triforge community API",
        version="1",
        summary="Submit SNES 65816 debugging dialogues and quest implementations; get validation at once.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.limiter = RateLimiter(settings.requests_per_minute, settings.burst)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)

    @app.exception_handler(StoreError)
    async def store_error(_: Request, exc: StoreError) -> JSONResponse:
        code = 404 if str(exc).startswith("no ") else 400
        return JSONResponse({"detail": str(exc)}, status_code=code)

    @app.exception_handler(FilterError)
    async def filter_error(_: Request, exc: FilterError) -> JSONResponse:
        return JSONResponse(
            {"detail": [{"loc": ["query", "where"], "msg": str(exc), "type": "filter"}]}, status_code=422
        )

    app.include_router(web_router)
    app.include_router(argilla_router)
    _routes(app)
    return app


def _listen_to_argilla(app: FastAPI, settings: ServiceSettings) -> Callable[[], None]:
    """Register the Argilla webhook and pull completed records into the service's own store (it holds
    the only write connection, so a separate listener could not). Returns the function that stops it."""
    from labeling.argilla.client import connect
    from labeling.argilla.pull import pull
    from labeling.argilla.webhooks import Listener, register

    svc: SubmissionService = app.state.service
    client = connect()
    webhook = register(client, settings.argilla_webhook_url)

    def pull_ids(ids: list[str] | None) -> Any:
        with svc.lock:  # a catch-up pull (ids None) holds submissions back while it runs: seconds per 1k
            return pull(svc.store, client, rule=settings.review_rule, min_submitted=settings.review_min_submitted,
                        ids=ids)  # fmt: skip

    listener = Listener(webhook.secret, pull_ids, catch_up=True)
    listener.start()
    app.state.argilla_listener = listener

    def stop() -> None:
        listener.close()
        app.state.argilla_listener = None
        webhook.delete()

    return stop


def service(request: Request) -> SubmissionService:
    return request.app.state.service


def current_key(
    request: Request,
    x_api_key: Annotated[str | None, Header(alias=API_KEY_HEADER, description="Your Triforge API key")] = None,
) -> ApiKey:
    if not x_api_key:
        raise HTTPException(
            401, "send your API key in the X-API-Key header", headers={"WWW-Authenticate": API_KEY_HEADER}
        )
    svc = service(request)
    with svc.lock:
        key = authenticate(svc.store, x_api_key)
    if key is None:
        raise HTTPException(401, "unknown or revoked API key", headers={"WWW-Authenticate": API_KEY_HEADER})
    wait = request.app.state.limiter.take(key.id)
    if wait > 0:
        raise HTTPException(429, "rate limit reached for this key", headers={"Retry-After": str(int(wait) + 1)})
    return key


def role(required: str) -> Callable[..., ApiKey]:
    def check(key: Annotated[ApiKey, Depends(current_key)]) -> ApiKey:
        if not key.allows(required):
            raise HTTPException(403, f"this needs the {required} role; your key is {key.role}")
        return key

    return check


Contributor = Annotated[ApiKey, Depends(role("contributor"))]
Curator = Annotated[ApiKey, Depends(role("curator"))]
Admin = Annotated[ApiKey, Depends(role("admin"))]


def _routes(app: FastAPI) -> None:
    @app.get("/healthz", tags=["service"])
    def healthz(request: Request) -> dict[str, Any]:
        svc = service(request)
        with svc.lock:  # one DuckDB connection is shared by the request threads: every use holds the lock
            samples = svc.store.con.execute("SELECT count(*) FROM revisions").fetchone()[0]
            version = svc.store.schema_version
        return {"status": "ok", "samples": samples, "schema_version": version}

    @app.post(
        "/v1/submissions",
        status_code=201,
        response_model=SubmissionOut,
        tags=["submissions"],
        responses={200: {"model": SubmissionOut, "description": "Identical content was already there"}},
    )
    def submit(payload: SubmissionIn, key: Contributor, request: Request, response: Response) -> SubmissionOut:
        check_turn_limits(payload, request.app.state.settings, ("body",))
        result, created = service(request).submit(key, payload)
        if not created:
            response.status_code = 200
        return result

    @app.post(
        "/v1/submissions/batch",
        response_model=BatchOut,
        tags=["submissions"],
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    "application/x-ndjson": {
                        "schema": {"type": "string", "description": "one SubmissionIn JSON object per line"}
                    }
                },
            }
        },
    )
    async def submit_batch(request: Request, key: Contributor) -> BatchOut:
        settings: ServiceSettings = request.app.state.settings
        text = (await request.body()).decode("utf-8", errors="replace")
        lines = [(n, line) for n, line in enumerate(text.splitlines(), 1) if line.strip()]
        if not lines:
            raise RequestValidationError(
                [{"loc": ["body"], "msg": "no submissions in the batch", "type": "value_error"}]
            )
        if len(lines) > settings.max_batch:
            raise HTTPException(413, f"{len(lines)} submissions in one batch; the limit is {settings.max_batch}")
        results: list[BatchLine] = []
        for n, line in lines:
            try:
                payload = SubmissionIn.model_validate_json(line)
                check_turn_limits(payload, settings, ("line", n))
            except ValidationError as exc:
                errors = [{"loc": ["line", n, *e["loc"]], "msg": e["msg"], "type": e["type"]} for e in exc.errors()]
                results.append(BatchLine(line=n, errors=errors))
                continue
            except RequestValidationError as exc:
                results.append(BatchLine(line=n, errors=list(exc.errors())))
                continue
            outcome, _ = service(request).submit(key, payload)
            results.append(BatchLine(line=n, submission=outcome))
        accepted = sum(r.submission is not None for r in results)
        return BatchOut(accepted=accepted, rejected=len(results) - accepted, results=results)

    @app.get("/v1/submissions/{submission_id}", response_model=SubmissionOut, tags=["submissions"])
    def get_submission(submission_id: str, key: Contributor, request: Request) -> SubmissionOut:
        svc = service(request)
        owner = svc.owner(submission_id)
        if owner is None or (owner != key.id and not key.allows("curator")):
            raise HTTPException(404, f"no submission {submission_id}")
        return svc.get(submission_id)

    @app.get("/v1/contributors/me", response_model=ContributorOut, tags=["submissions"])
    def me(key: Contributor, request: Request) -> ContributorOut:
        return ContributorOut(**service(request).contributor(key))

    @app.get("/v1/samples", tags=["curation"])
    def samples(
        request: Request,
        _: Curator,
        where: Annotated[str | None, Query(max_length=2000)] = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 50,
        offset: Annotated[int, Query(ge=0)] = 0,
    ) -> dict[str, Any]:
        from curation.samples import count_samples, list_samples

        svc = service(request)
        with svc.lock:
            return {
                "total": count_samples(svc.store, where),
                "samples": list_samples(svc.store, where, limit=limit, offset=offset),
            }

    @app.get("/v1/samples/{sample_id}", tags=["curation"])
    def sample(sample_id: str, request: Request, _: Curator) -> dict[str, Any]:
        from curation.samples import get_sample
        from curation.validators.runner import stored_results

        svc = service(request)
        with svc.lock:
            detail = get_sample(svc.store, sample_id)
            validations = stored_results(svc.store, detail.id)
        rev = detail.revision
        return {
            "id": detail.id,
            "status": detail.status,
            "kind": rev.kind.value,
            "category": rev.category,
            "messages": [m.model_dump(mode="json") for m in rev.messages],
            "metadata": rev.metadata,
            "provenance": detail.provenance,
            "history": detail.history,
            "snapshots": detail.snapshots,
            "validations": [v.model_dump(exclude_none=True) for v in validations],
        }

    @app.get("/v1/snapshots", tags=["snapshots"])
    def snapshots(request: Request, _: Curator) -> list[dict[str, Any]]:
        from curation.snapshots import list_snapshots

        svc = service(request)
        with svc.lock:
            return [s.model_dump(mode="json") for s in list_snapshots(svc.store)]

    @app.post("/v1/snapshots", status_code=201, tags=["snapshots"])
    def create_snapshot(body: SnapshotIn, request: Request, _: Curator) -> dict[str, Any]:
        from curation.snapshots import create_snapshot as create

        svc = service(request)
        with svc.lock:
            return create(svc.store, body.name, body.where, parent=body.parent).model_dump(mode="json")

    @app.get("/v1/snapshots/{ref}", tags=["snapshots"])
    def snapshot(ref: str, request: Request, _: Curator) -> dict[str, Any]:
        from curation.snapshots import resolve_snapshot

        svc = service(request)
        with svc.lock:
            return resolve_snapshot(svc.store, ref).model_dump(mode="json")

    @app.get("/v1/snapshots/{a}/diff/{b}", tags=["snapshots"])
    def diff(a: str, b: str, request: Request, _: Curator) -> dict[str, Any]:
        from curation.snapshots import diff_snapshots

        svc = service(request)
        with svc.lock:
            return diff_snapshots(svc.store, a, b).model_dump()

    @app.get(
        "/v1/snapshots/{ref}/export",
        tags=["snapshots"],
        response_class=Response,
        responses={200: {"content": {"application/zip": {}}, "description": "the export as a zip"}},
    )
    def export(
        ref: str,
        request: Request,
        _: Curator,
        format: Annotated[str, Query(pattern="^(chatml|alpaca|sharegpt|mlx-chat|mlx-completion|parquet)$")] = "chatml",
        split: Annotated[str, Query(max_length=40)] = "0.8,0.1,0.1",
        seed: Annotated[int, Query(ge=0, le=2**31)] = 0,
    ) -> Response:
        from curation.export import export_snapshot, parse_ratios
        from curation.export.splits import SplitError

        try:
            ratios = parse_ratios(split)
        except SplitError as exc:
            raise RequestValidationError(
                [{"loc": ["query", "split"], "msg": str(exc), "type": "value_error"}]
            ) from None
        svc = service(request)
        with tempfile.TemporaryDirectory() as tmp, svc.lock:
            result = export_snapshot(svc.store, ref, format, Path(tmp), ratios=ratios, seed=seed)
            buffer = io.BytesIO()
            with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
                for file in sorted(Path(tmp).iterdir()):
                    archive.write(file, file.name)
        name = f"{result.snapshot_id[:12]}-{format}.zip"
        return Response(
            buffer.getvalue(),
            media_type="application/zip",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )

    @app.get("/v1/dedup/runs", tags=["reports"])
    def dedup_runs(request: Request, _: Curator) -> list[dict[str, Any]]:
        svc = service(request)
        with svc.lock:
            rows = svc.store.con.execute(
                "SELECT id, methods, where_clause, samples, clusters, duplicates, created_at FROM dedup_runs "
                "ORDER BY created_at"
            ).fetchall()
        keys = ("id", "methods", "where", "samples", "clusters", "duplicates", "created_at")
        return [dict(zip(keys, (*r[:1], json.loads(r[1]), *r[2:]), strict=True)) for r in rows]

    @app.get("/v1/dedup/runs/{run_id}/report", tags=["reports"], response_class=Response)
    def dedup_report(
        run_id: str, request: Request, _: Curator, format: Annotated[str, Query(pattern="^(html|md|json)$")] = "json"
    ) -> Response:
        from curation.dedup.report import render_report

        svc = service(request)
        with svc.lock:
            text = render_report(svc.store, run_id, format)
        media = {"html": "text/html", "md": "text/markdown", "json": "application/json"}[format]
        return PlainTextResponse(text, media_type=media)

    @app.post("/v1/contamination", tags=["reports"])
    def contamination(body: ContaminationIn, request: Request, _: Curator) -> dict[str, Any]:
        from curation.contamination import check_contamination

        svc = service(request)
        with tempfile.TemporaryDirectory() as tmp:
            evals = Path(tmp) / "evals.jsonl"
            evals.write_text("".join(json.dumps(e.model_dump()) + "\n" for e in body.evals), encoding="utf-8")
            with svc.lock:
                return check_contamination(svc.store, body.snapshot, [evals], threshold=body.threshold).as_dict()

    @app.get("/v1/keys", tags=["admin"])
    def keys(request: Request, _: Admin) -> list[dict[str, Any]]:
        from labeling.api.keys import list_keys

        svc = service(request)
        with svc.lock:
            return [k.__dict__ for k in list_keys(svc.store)]
