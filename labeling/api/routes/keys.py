"""Admins: create, list and revoke API keys while the service runs, so a new contributor never
waits for a restart. The secret is in the creation response only; the store keeps its SHA-256.
Authentication reads the store on every request, so a new key works and a revoked one fails at once.
``triforge keys create|list|revoke`` send these when the service holds the store."""

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Request

from labeling.api.curator_models import KeyCreated, KeyIn, KeyOut
from labeling.api.deps import Admin, service
from labeling.api.errors import AUTHENTICATED, WITH_BODY, responses
from labeling.api.patterns import KEY_ID
from labeling.api.strict_json import StrictJSONRoute

router = APIRouter(tags=["admin"], route_class=StrictJSONRoute)


@router.get("/v1/keys", response_model=list[KeyOut], responses=responses(*AUTHENTICATED))
def keys(request: Request, _: Admin) -> Any:
    svc = service(request)
    with svc.lock:
        return [asdict(k) for k in svc.workspace.keys.list()]


@router.post(
    "/v1/keys",
    status_code=201,
    response_model=KeyCreated,
    summary="Create a key; its secret is in this response only",
    responses=responses(*AUTHENTICATED, *WITH_BODY),
)
def create(body: KeyIn, request: Request, _: Admin) -> Any:
    svc = service(request)
    with svc.lock:
        key, secret = svc.workspace.keys.create(body.name, body.role)
    return {**asdict(key), "key": secret}


@router.delete(
    "/v1/keys/{key_id}",
    response_model=KeyOut,
    summary="Revoke a key: requests with it get 401 from now on",
    responses=responses(*AUTHENTICATED, 404, 409),
)
def revoke(key_id: Annotated[str, Path(pattern=KEY_ID)], request: Request, admin: Admin) -> Any:
    if key_id == admin.id:
        raise HTTPException(409, "this request is made with that key; revoke it with another admin key")
    svc = service(request)
    with svc.lock:
        return asdict(svc.workspace.keys.revoke(key_id))
