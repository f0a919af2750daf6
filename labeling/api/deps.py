"""Request dependencies: the service that holds the store, and who is calling with which role.

The key travels in ``X-API-Key``, declared as an OpenAPI API-key security scheme so clients and
schemathesis know every protected operation needs it. Authentication reads the store on every
request, so a key created or revoked through the API (or the CLI through it) counts at once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, HTTPException, Request, Security
from fastapi.security import APIKeyHeader

from curation.resources.keys import ApiKey
from labeling.api.service import SubmissionService

API_KEY_HEADER = "X-API-Key"

api_key_header = APIKeyHeader(
    name=API_KEY_HEADER, scheme_name="ApiKey", description="Your Triforge API key (tf_...)", auto_error=False
)


def service(request: Request) -> SubmissionService:
    return request.app.state.service


def current_key(request: Request, secret: Annotated[str | None, Security(api_key_header)] = None) -> ApiKey:
    if not secret:
        raise HTTPException(
            401, "send your API key in the X-API-Key header", headers={"WWW-Authenticate": API_KEY_HEADER}
        )
    key = service(request).authenticate(secret)
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
