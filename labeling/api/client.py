"""The CLI's way into a running service: when ``triforge serve`` holds the store, a CLI write is
sent through the API with the admin key instead of failing on the lock.

``client_for_locked_store`` decides whether the lock's holder is the service named in
``$TRIFORGE_HOME/service.json`` (same pid) and finds the admin key; ``ServiceClient`` makes the
calls and returns the same objects the library calls return, so a command prints the same either
way. Errors come back as the kind the library raised (``NotFound`` for 404, ``Conflict`` for 409,
``Invalid`` for 422) carrying the service's own message.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import zipfile
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx

from curation.backup import BACKUP_FILE, MANIFEST, BackupManifest, check_backup, ensure_empty_folder
from curation.errors import Conflict, Invalid, NotFound, StoreError
from curation.integrity import StoreCheck
from curation.resources.keys import ApiKey
from curation.store import StoreLockedError
from labeling.api.deps import API_KEY_HEADER
from labeling.api.discovery import ADMIN_KEY_ENV, ADMIN_KEY_FILE, ServiceInfo, admin_key, read_service_file
from schemas.snapshot import Snapshot


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def client_for_locked_store(exc: StoreLockedError, home: Path, admin_secret: str | None = None) -> ServiceClient:
    """A client for the service holding the store in workspace ``home``, or ``exc`` again when the
    holder is no service (an import, a training run) - or a clear error when it is one but no admin
    key is set. ``admin_secret`` is the caller's ``$TRIFORGE_ADMIN_KEY``; else ``home/admin.key``."""
    info = read_service_file(home)
    if info is None or (exc.pid is not None and exc.pid != info.pid) or not _alive(info.pid):
        raise exc
    secret = admin_key(home, admin_secret)
    if not secret:
        raise StoreError(
            f"the store is held by triforge serve (pid {info.pid}) at {info.url}. To send this change through "
            f"its API instead, set {ADMIN_KEY_ENV} to an admin key or save one in {home / ADMIN_KEY_FILE} (mode 600, "
            "e.g. `triforge keys create --role admin --name ops --save-admin-key` before starting the service)"
        )
    return ServiceClient(info, secret)


# The statuses whose body is the library's own message: raised again as the same kind.
_KINDS: dict[int, type[StoreError]] = {404: NotFound, 409: Conflict}


def _detail(response: httpx.Response) -> str:
    try:
        detail = response.json().get("detail")
    except ValueError:
        return response.text[:300] or response.reason_phrase
    if isinstance(detail, list):
        return "; ".join(f"{'.'.join(str(p) for p in e.get('loc', [])[1:])}: {e.get('msg')}" for e in detail)
    return str(detail)


def _key(data: dict[str, Any]) -> ApiKey:
    revoked = data.get("revoked_at")
    return ApiKey(
        id=data["id"],
        name=data["name"],
        role=data["role"],
        created_at=datetime.fromisoformat(data["created_at"]),
        revoked_at=datetime.fromisoformat(revoked) if revoked else None,
    )


class ServiceClient:
    def __init__(self, info: ServiceInfo, secret: str, timeout: float = 120.0) -> None:
        self.info = info
        self.url = info.url
        self.http = httpx.Client(base_url=info.url, headers={API_KEY_HEADER: secret}, timeout=timeout)

    def __enter__(self) -> ServiceClient:
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.http.close()

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self.http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise self._no_answer(exc) from None
        self._check(response)
        return response.json()

    def _no_answer(self, exc: httpx.HTTPError) -> StoreError:
        return StoreError(
            f"the store is held by triforge serve (pid {self.info.pid}), but its API at {self.url} "
            f"did not answer: {exc}"
        )

    def _check(self, response: httpx.Response) -> None:
        if response.is_success:
            return
        detail = _detail(response)
        if response.status_code in (401, 403):
            raise StoreError(
                f"the service at {self.url} refused the admin key ({response.status_code}: {detail}); "
                f"check {ADMIN_KEY_ENV} or {ADMIN_KEY_FILE}"
            )
        kind = _KINDS.get(response.status_code)
        if kind is not None:
            raise kind(detail)  # the library's own error, as the command would raise it locally
        if response.status_code == 422:
            raise Invalid(f"the service at {self.url} answered 422: {detail}")
        raise StoreError(f"the service at {self.url} answered {response.status_code}: {detail}")

    # --- keys -----------------------------------------------------------------------------------------

    def create_key(self, name: str, role: str) -> tuple[ApiKey, str]:
        data = self._call("POST", "/v1/keys", json={"name": name, "role": role})
        return _key(data), data["key"]

    def list_keys(self) -> list[ApiKey]:
        return [_key(k) for k in self._call("GET", "/v1/keys")]

    def revoke_key(self, key_id: str) -> ApiKey:
        return _key(self._call("DELETE", f"/v1/keys/{key_id}"))

    # --- samples and snapshots ------------------------------------------------------------------------

    def mark(self, ids: list[str], status: str, *, actor: str, reason: str | None) -> list[str]:
        body = {k: v for k, v in {"samples": ids, "status": status, "actor": actor, "reason": reason}.items() if v}
        return self._call("POST", "/v1/status-changes", json=body)["samples"]

    def correct(self, sample_id: str, *, actor: str, answer: str | None, category: str | None) -> str:
        body = {"actor": actor, "answer": answer, "category": category}
        body = {k: v for k, v in body.items() if v is not None}
        return self._call("POST", f"/v1/samples/{sample_id}/corrections", json=body)["id"]

    def create_snapshot(self, name: str, where: str | None, *, parent: str | None) -> Snapshot:
        body = {k: v for k, v in {"name": name, "where": where, "parent": parent}.items() if v is not None}
        return Snapshot.model_validate(self._call("POST", "/v1/snapshots", json=body))

    # --- the store ------------------------------------------------------------------------------------

    def backup(self, folder: Path) -> BackupManifest:
        """Have the service back up its store, and unpack the zip into ``folder`` (checked by hash)."""
        ensure_empty_folder(folder)
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile() as spool:
            try:
                with self.http.stream("POST", "/v1/backups") as response:
                    if not response.is_success:
                        response.read()
                        self._check(response)
                    for chunk in response.iter_bytes(1 << 20):
                        spool.write(chunk)
            except httpx.HTTPError as exc:
                raise self._no_answer(exc) from None
            spool.seek(0)
            with zipfile.ZipFile(spool) as archive:
                # Only the two names a backup has: nothing in the archive picks its own path.
                for name in (BACKUP_FILE, MANIFEST):
                    with archive.open(name) as member, open(folder / name, "wb") as out:
                        shutil.copyfileobj(member, out, 1 << 20)
        return check_backup(folder)

    def verify(self) -> StoreCheck:
        return StoreCheck.model_validate(self._call("GET", "/v1/verification"))
