"""Create (or re-key) Argilla's owner from secrets read on stdin; run by argilla-server's own Python.

Why not ``python -m argilla_server database users create --password ... --api-key ...``: a command
line is visible to every local user in ``ps`` while it runs, and that command has no other way to
take the API key. This script runs in the Argilla venv, imports only ``argilla_server`` and the
standard library (never Triforge), and takes ``{"username", "password", "api_key"}`` as JSON on
stdin. Run it with ``python -I``: otherwise this directory, whose ``datasets.py`` shadows the HF
package argilla-server imports, would come first on its path. If the owner already exists - the
credentials file was lost, or a first ``up`` died between creating the owner and writing that file -
its password and API key are replaced, so the credentials file Triforge keeps always works.
"""

from __future__ import annotations

import asyncio
import json
import sys


async def _create_or_rekey(username: str, password: str, api_key: str) -> str:
    from argilla_server.contexts import accounts
    from argilla_server.database import AsyncSessionLocal
    from argilla_server.models import User, UserRole

    async with AsyncSessionLocal() as session:
        holder = await accounts.get_user_by_api_key(session, api_key)
        if holder is not None and holder.username != username:
            raise SystemExit(f"the new API key already belongs to {holder.username!r}")
        user = await accounts.get_user_by_username(session, username)
        if user is None:
            await User.create(
                session,
                first_name="Triforge",
                username=username,
                role=UserRole.owner,
                password_hash=accounts.hash_password(password),
                api_key=api_key,
            )
            return "created"
        await user.update(session, password_hash=accounts.hash_password(password), api_key=api_key, role=UserRole.owner)
        return "re-keyed"


def main() -> None:
    secrets = json.load(sys.stdin)
    print(asyncio.run(_create_or_rekey(secrets["username"], secrets["password"], secrets["api_key"])))


if __name__ == "__main__":
    main()
