"""``workspace.keys``: API keys with roles, contributor < curator < admin.

A key is ``tf_`` + 43 url-safe characters (256 random bits) and is shown once; the store keeps only
its SHA-256 (a slow password hash buys nothing for a random 256-bit secret) and the key id
(``tf_`` + first 8 characters) for listing and revoking. The HTTP service authenticates every
request here, so a key created or revoked (through the API or the CLI) counts at once.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime

from curation.clock import utc_now
from curation.errors import Invalid, NotFound
from curation.resources import Resource

ROLES = ("contributor", "curator", "admin")
PREFIX = "tf_"
ID_LENGTH = 11  # "tf_" + 8 characters of the secret
MAX_SECRET_LENGTH = 100

_COLUMNS = "id, name, role, created_at, revoked_at"


@dataclass(frozen=True)
class ApiKey:
    """A key as the store lists it: never its secret, nor its hash."""

    id: str
    name: str
    role: str
    created_at: datetime
    revoked_at: datetime | None = None

    def allows(self, role: str) -> bool:
        """Whether this key's role is ``role`` or above it."""
        return ROLES.index(self.role) >= ROLES.index(role)


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class Keys(Resource):
    def create(self, name: str, role: str) -> tuple[ApiKey, str]:
        """A new key and its secret (the only time the secret exists outside its owner's hands)."""
        if role not in ROLES:
            raise Invalid(f"unknown role {role!r}; choose one of: {', '.join(ROLES)}")
        name = name.strip()
        if not name:
            raise Invalid("a key needs a name (the contributor it belongs to)")
        secret = PREFIX + secrets.token_urlsafe(32)
        key = ApiKey(id=secret[:ID_LENGTH], name=name, role=role, created_at=utc_now())
        with self.store.transaction() as con:
            con.execute(
                "INSERT INTO api_keys VALUES (?, ?, ?, ?, ?, NULL)",
                [key.id, key.name, key.role, _hash(secret), key.created_at],
            )
        return key, secret

    def list(self) -> list[ApiKey]:
        rows = self.store.con.execute(f"SELECT {_COLUMNS} FROM api_keys ORDER BY created_at").fetchall()
        return [ApiKey(*row) for row in rows]

    def get(self, key_id: str) -> ApiKey:
        row = self.store.con.execute(f"SELECT {_COLUMNS} FROM api_keys WHERE id = ?", [key_id]).fetchone()
        if not row:
            raise NotFound(f"no API key {key_id}")
        return ApiKey(*row)

    def revoke(self, key_id: str) -> ApiKey:
        """Revoke a key (revoking it again keeps the first time); requests with it are refused from now on."""
        self.get(key_id)
        with self.store.transaction() as con:
            con.execute("UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", [utc_now(), key_id])
        return self.get(key_id)

    def authenticate(self, secret: str) -> ApiKey | None:
        """The live key this secret belongs to; None for an unknown, malformed or revoked one."""
        if not secret.startswith(PREFIX) or len(secret) > MAX_SECRET_LENGTH:
            return None
        row = self.store.con.execute(
            f"SELECT {_COLUMNS} FROM api_keys WHERE key_hash = ? AND revoked_at IS NULL", [_hash(secret)]
        ).fetchone()
        return ApiKey(*row) if row else None


__all__ = ["ROLES", "ApiKey", "Keys"]
