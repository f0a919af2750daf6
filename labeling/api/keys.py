"""API keys with roles: contributor < curator < admin.

A key is ``tf_`` + 43 url-safe characters (256 random bits) and is shown once; the store keeps only
its SHA-256 (a slow password hash buys nothing for a random 256-bit secret) and the key id
(``tf_`` + first 8 characters) for listing and revoking.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from curation.store import Store, StoreError

ROLES = ("contributor", "curator", "admin")


@dataclass(frozen=True)
class ApiKey:
    id: str
    name: str
    role: str
    created_at: datetime
    revoked_at: datetime | None = None

    def allows(self, role: str) -> bool:
        return ROLES.index(self.role) >= ROLES.index(role)


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def create_key(store: Store, name: str, role: str) -> tuple[ApiKey, str]:
    if role not in ROLES:
        raise StoreError(f"unknown role {role!r}; choose one of: {', '.join(ROLES)}")
    name = name.strip()
    if not name:
        raise StoreError("a key needs a name (the contributor it belongs to)")
    secret = "tf_" + secrets.token_urlsafe(32)
    key = ApiKey(id=secret[:11], name=name, role=role, created_at=_now())
    with store.transaction() as con:
        con.execute(
            "INSERT INTO api_keys VALUES (?, ?, ?, ?, ?, NULL)",
            [key.id, key.name, key.role, _hash(secret), key.created_at],
        )
    return key, secret


def list_keys(store: Store) -> list[ApiKey]:
    rows = store.con.execute(
        "SELECT id, name, role, created_at, revoked_at FROM api_keys ORDER BY created_at"
    ).fetchall()
    return [ApiKey(*row) for row in rows]


def revoke_key(store: Store, key_id: str) -> ApiKey:
    row = store.con.execute("SELECT id FROM api_keys WHERE id = ?", [key_id]).fetchone()
    if not row:
        raise StoreError(f"no API key {key_id}")
    with store.transaction() as con:
        con.execute("UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", [_now(), key_id])
    return next(k for k in list_keys(store) if k.id == key_id)


def authenticate(store: Store, secret: str) -> ApiKey | None:
    if not secret.startswith("tf_") or len(secret) > 100:
        return None
    row = store.con.execute(
        "SELECT id, name, role, created_at, revoked_at FROM api_keys WHERE key_hash = ? AND revoked_at IS NULL",
        [_hash(secret)],
    ).fetchone()
    return ApiKey(*row) if row else None
