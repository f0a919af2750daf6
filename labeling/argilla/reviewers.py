"""``triforge reviewers``: the people who review in Argilla, as Argilla users of the Triforge workspace.

Roles: ``annotator`` (Argilla's annotator: answers records in the workspaces it belongs to) and
``curator`` (Argilla's ``admin``, which Argilla scopes to the workspaces it is a member of: it also
manages the datasets there, but cannot manage users). Owners are never listed, changed or removed here.

Passwords are generated (``secrets``) and shown once, or read from stdin by the CLI; they never travel
on a command line. Managing users takes the owner's credentials: the local stack's, or
``ARGILLA_API_URL``/``ARGILLA_API_KEY`` for another server (the compose stack).
"""

from __future__ import annotations

import re
import secrets
import warnings
from dataclasses import dataclass
from typing import Any

from curation.errors import Conflict, Invalid, NotFound, StoreError
from labeling.argilla.datasets import WORKSPACE, ensure_workspace

ROLES = {"annotator": "annotator", "curator": "admin"}  # Triforge's role -> Argilla's
MIN_PASSWORD, MAX_PASSWORD = 8, 100  # argilla-server's bounds
_USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,99}$")


class ReviewerError(StoreError):
    """A reviewer command that cannot be done as asked (shown in one line by the CLI); the kinds below
    say why, so a front end maps the kind (an HTTP status, say), never the message."""


class InvalidReviewer(ReviewerError, Invalid):
    """A bad role, username or password, or an owner named where only reviewers may be."""


class UnknownReviewer(ReviewerError, NotFound):
    """No such Argilla user."""


class ReviewerExists(ReviewerError, Conflict):
    """The username is taken."""


@dataclass
class Reviewer:
    username: str
    role: str  # annotator | curator
    in_workspace: bool
    user_id: str

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def generate_password() -> str:
    return secrets.token_urlsafe(15)  # 20 characters, 120 bits


def check_password(password: str) -> str:
    password = password.rstrip("\r\n")
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise InvalidReviewer(f"a password needs {MIN_PASSWORD} to {MAX_PASSWORD} characters")
    return password


def _triforge_role(argilla_role: str) -> str:
    return {v: k for k, v in ROLES.items()}.get(str(argilla_role), str(argilla_role))


def _find(client: Any, username: str) -> Any:
    with warnings.catch_warnings():  # the SDK warns "not found" before returning None
        warnings.simplefilter("ignore")
        return client.users(username=username)


def _user(client: Any, username: str) -> Any:
    user = _find(client, username)
    if user is None:
        raise UnknownReviewer(f"no reviewer {username!r} in Argilla")
    if _role_name(user) == "owner":
        raise InvalidReviewer(f"{username!r} is an Argilla owner; reviewers commands leave owners alone")
    return user


def _role_name(user: Any) -> str:
    role = user.role
    return getattr(role, "value", str(role))


def _members(client: Any) -> set[str]:
    workspace = client.workspaces(WORKSPACE)
    return {u.username for u in workspace.users} if workspace is not None else set()


def add_reviewer(client: Any, username: str, role: str, password: str) -> Reviewer:
    """Create the Argilla user and add it to the Triforge workspace."""
    import argilla as rg

    if role not in ROLES:
        raise InvalidReviewer(f"unknown role {role!r}: {', '.join(ROLES)}")
    if not _USERNAME.match(username):
        raise InvalidReviewer("a username is letters, digits and . _ @ - (starting with a letter or digit)")
    password = check_password(password)
    if _find(client, username) is not None:
        raise ReviewerExists(f"{username!r} already exists; use `triforge reviewers reset-password {username}`")
    workspace = ensure_workspace(client)
    user = rg.User(username=username, password=password, role=ROLES[role], client=client).create()
    workspace.add_user(user)
    return Reviewer(username, role, True, str(user.id))


def list_reviewers(client: Any) -> list[Reviewer]:
    """Every non-owner Argilla user, and whether it belongs to the Triforge workspace."""
    members = _members(client)
    found = [
        Reviewer(u.username, _triforge_role(_role_name(u)), u.username in members, str(u.id))
        for u in client.users
        if _role_name(u) != "owner"
    ]
    return sorted(found, key=lambda r: r.username)


def reset_password(client: Any, username: str, password: str) -> Reviewer:
    user = _user(client, username)
    password = check_password(password)
    reply = client.http_client.patch(f"/api/v1/users/{user.id}", json={"password": password})
    if reply.status_code != 200:
        raise ReviewerError(f"Argilla refused the new password ({reply.status_code}): {reply.text[:200]}")
    return Reviewer(username, _triforge_role(_role_name(user)), username in _members(client), str(user.id))


def remove_reviewer(client: Any, username: str, *, delete: bool = False) -> Reviewer:
    """Take the user out of the Triforge workspace (its responses stay); ``delete`` also deletes the
    Argilla account - and with it every response Argilla holds from it (pulled ones stay in the store)."""
    user = _user(client, username)
    member = username in _members(client)
    if member:
        client.workspaces(WORKSPACE).remove_user(user)
    if delete:
        user.delete()
    return Reviewer(username, _triforge_role(_role_name(user)), False, str(user.id))
