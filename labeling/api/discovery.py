"""How a CLI writer finds the running service that holds the store, and the admin key to use.

While ``triforge serve`` runs it keeps ``service.json`` (mode 0600) in its workspace: its URL and
pid, removed on shutdown. A CLI write that finds the store locked by that same pid sends the
change through the API instead of failing. The key comes from ``TRIFORGE_ADMIN_KEY`` (read by the
CLI, the entry point, and passed in) or the workspace's ``admin.key`` (0600; refused if others may
read it, as ssh refuses a loose key).
"""

from __future__ import annotations

import json
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from curation.clock import utc_now
from curation.errors import StoreError

SERVICE_FILE = "service.json"
ADMIN_KEY_FILE = "admin.key"
ADMIN_KEY_ENV = "TRIFORGE_ADMIN_KEY"


@dataclass(frozen=True)
class ServiceInfo:
    url: str
    pid: int
    started_at: str


def write_private(path: Path, text: str) -> None:
    """Write a file only its owner can read, atomically (a reader never sees half of it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, text.encode())
    finally:
        os.close(fd)
    os.replace(tmp, path)


def write_service_file(home: Path, url: str) -> Path:
    path = home / SERVICE_FILE
    info = {"url": url, "pid": os.getpid(), "started_at": utc_now().isoformat() + "+00:00"}
    write_private(path, json.dumps(info) + "\n")
    return path


def remove_service_file(home: Path) -> None:
    """Remove the file if it is still this process's (a newer service may have replaced it)."""
    info = read_service_file(home)
    if info is not None and info.pid == os.getpid():
        (home / SERVICE_FILE).unlink(missing_ok=True)


def read_service_file(home: Path) -> ServiceInfo | None:
    try:
        data = json.loads((home / SERVICE_FILE).read_text(encoding="utf-8"))
        return ServiceInfo(url=str(data["url"]), pid=int(data["pid"]), started_at=str(data.get("started_at", "")))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def admin_key(home: Path, from_environment: str | None = None) -> str | None:
    """The admin key: ``from_environment`` (the entry point's ``$TRIFORGE_ADMIN_KEY``) when set, else
    the one saved in ``home/admin.key``; None when neither is."""
    secret = (from_environment or "").strip()
    if secret:
        return secret
    path = home / ADMIN_KEY_FILE
    try:
        mode = path.stat().st_mode
    except OSError:
        return None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise StoreError(f"{path} may be read by others (mode {stat.S_IMODE(mode):o}); chmod 600 it")
    return path.read_text(encoding="utf-8").strip() or None
